// Kubernetes YAML in and out. Documents are kept as `yaml` Document objects so that callers edit the
// tree, and serialization rewrites only the lines their edits touched: comments, key order, quoting
// and formatting of everything else stay byte-identical to the input.
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Composer,
  Document,
  isAlias,
  isCollection,
  isPair,
  isScalar,
  LineCounter,
  Parser,
  parseDocument,
  Scalar,
} from 'yaml';
import type { CST, ToStringOptions } from 'yaml';
import { ContrastError } from '../internal/errors.js';
import { displayPath, readTextInput, statInput, STDIO_PATH } from '../internal/files.js';
import { limit } from '../internal/limit.js';
import { log } from '../internal/log.js';
import { decodeUtf8Strict } from '../internal/utf8.js';
import { spliceLineDiff } from './linediff.js';

export interface KubeFile {
  path: string;
  text: string;
  docs: Document[];
}

/**
 * Source text of each parsed document, so unchanged documents are written back verbatim, and its
 * shape when parsed (see `shapeOf`), which tells without rendering whether anything changed.
 */
const origins = new WeakMap<Document, { source: string; shape: unknown[] }>();

/**
 * Everything rendering a document reads, in a fixed order: every node's identity and the fields of
 * it that the `yaml` library's stringify uses (value, style, tag, anchor, comments, blank line,
 * flow, number format; each collection's items and each pair's key and value by identity). Equal
 * shapes mean the document renders as it did when parsed, so its source text is its output; this
 * saves the one rendering per document that a re-run of `generate` otherwise spends (~60 ms for 31
 * documents, issue 15). An edit anywhere (a replaced or added node, a value set in place, a removed
 * or moved item, a changed comment or style) changes the shape.
 */
function shapeOf(doc: Document): { shape: unknown[]; aliases: boolean } {
  const shape: unknown[] = [
    doc.contents,
    doc.comment,
    doc.commentBefore,
    doc.directives?.docStart,
    doc.directives?.docEnd,
  ];
  let aliases = false;
  const walk = (node: unknown): void => {
    shape.push(node);
    if (isScalar(node)) {
      shape.push(node.value, node.type, node.format, node.minFractionDigits, node.source);
    } else if (isAlias(node)) {
      aliases = true;
      shape.push(node.source);
    } else if (isPair(node)) {
      shape.push(node.key, node.value);
      walk(node.key);
      walk(node.value);
      return;
    } else if (isCollection(node)) {
      shape.push(node.flow, node.items.length);
      for (const item of node.items) walk(item);
    } else return; // null, or a plain value
    shape.push(node.tag, node.anchor, node.comment, node.commentBefore, node.spaceBefore);
  };
  walk(doc.contents);
  return { shape, aliases };
}

function sameShape(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * Alias expansion limit for turning a document into plain data: the `yaml` library's default. Each
 * alias resolution counts the aliases inside its anchor, so nested "billion laughs" documents of a few
 * hundred bytes are refused before they exhaust memory; ordinary Kubernetes YAML stays far below it.
 */
export const yamlMaxAliasCount = 100;

/** The document as plain data, with aliases expanded within `yamlMaxAliasCount`. */
export function documentToJS(doc: Document, path: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: yamlMaxAliasCount });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    if (/alias count|Alias resolution/i.test(err.message)) {
      throw new ContrastError(`too many YAML aliases in ${path}`, {
        code: 'KUBE_YAML_ALIASES',
        hint: `expanding its aliases (*name) would exceed the limit of ${yamlMaxAliasCount}; write the repeated parts out`,
      });
    }
    throw new ContrastError(`${path}: invalid YAML: ${err.message}`, { code: 'KUBE_YAML' });
  }
}

/**
 * Parses a multi-document YAML stream. Malformed YAML is a ContrastError naming path:line:col. Bytes
 * must be valid UTF-8 ("FILE is not valid UTF-8 (line L)"): we rewrite these files, and replacing bad
 * bytes by U+FFFD would silently change them. Documents whose aliases expand beyond
 * `yamlMaxAliasCount` are refused ("too many YAML aliases in FILE"). `standIns: false` parses long
 * values as they are (see `standInLongValues`; tests compare both ways).
 */
export function parseKubeFile(
  path: string,
  input: string | Uint8Array,
  options: { standIns?: boolean } = {},
): KubeFile {
  const text = typeof input === 'string' ? input : decodeUtf8Strict(path, input);
  const standIns = options.standIns === false ? undefined : standInLongValues(text);
  if (standIns) {
    const stream = composeStream(standIns.text);
    // Any error, or a stand-in not found back as a whole value: parse the text as it is, which
    // also reports errors exactly as before.
    if (!stream.docs.some((d) => d.errors.length > 0) && restoreLongValues(stream.docs, standIns)) {
      longValueStandIns.used++;
      return finishKubeFile(path, text, stream, standIns.originalOffset);
    }
    longValueStandIns.fellBack++;
  }
  return finishKubeFile(path, text, composeStream(text), (offset) => offset);
}

/** Files parsed with long values stood in, and files that had some but were parsed as they are (tests). */
export const longValueStandIns = { used: 0, fellBack: 0 };

interface ComposedStream {
  docs: Document[];
  lineCounter: LineCounter;
  /** Offset of each document's start in the composed text. */
  bounds: number[];
}

function composeStream(text: string): ComposedStream {
  // One lexing pass serves both the composer and the document offsets (what parseAllDocuments
  // does inside, plus the offsets; lexing twice was ~10% of a warm `generate`'s CPU time). The
  // composer takes each document's syntax tree as the parser yields it, so a tree is garbage once
  // composed instead of all of them living until the last one is.
  const lineCounter = new LineCounter();
  const bounds: number[] = [];
  function* recordingBounds(tokens: Iterable<CST.Token>): Generator<CST.Token> {
    for (const t of tokens) {
      if (t.type === 'document') bounds.push(t.offset);
      yield t;
    }
  }
  const tokens = recordingBounds(new Parser(lineCounter.addNewLine).parse(text));
  const docs = Array.from(new Composer({ merge: true }).compose(tokens, false, text.length));
  return { docs, lineCounter, bounds };
}

function finishKubeFile(
  path: string,
  text: string,
  { docs, lineCounter, bounds }: ComposedStream,
  originalOffset: (offset: number) => number,
): KubeFile {
  if (docs.length === 0) return { path, text, docs: [] }; // empty stream
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const { line, col } = lineCounter.linePos(err.pos[0]);
      const firstLine = err.message.split('\n')[0] ?? err.message;
      throw new ContrastError(
        `${displayPath(path)}:${line}:${col}: invalid YAML: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`,
        {
          code: 'KUBE_YAML',
        },
      );
    }
  }
  const shapes = docs.map((doc) => {
    const s = shapeOf(doc);
    if (s.aliases) documentToJS(doc, path); // fail now, naming the file, not later in some consumer
    return s.shape;
  });
  if (bounds.length !== docs.length) {
    // Cannot happen for a stream the composer accepted; keep correctness by never splicing.
    log.debug(
      `${path}: document boundaries disagree (${bounds.length} vs ${docs.length}); output will be re-rendered`,
    );
  } else {
    docs.forEach((doc, i) => {
      const start = i === 0 ? 0 : originalOffset(bounds[i] ?? 0);
      const end = i + 1 < bounds.length ? originalOffset(bounds[i + 1]!) : text.length;
      origins.set(doc, { source: text.slice(start, end), shape: shapes[i]! });
    });
  }
  return { path, text, docs };
}

/**
 * A single-line plain mapping value of at least 1 KiB of base64 characters that starts with a letter
 * (so the core schema reads it as a string, whatever follows: only `true`, `null` and the like start
 * with a letter and are not strings), up to the end of its line.
 */
const LONG_VALUE = /^( *[\w./-]+: )([A-Za-z][A-Za-z0-9+/=]{1023,})$/gm;

interface StandIns {
  /** The text with each long value replaced by its stand-in. */
  text: string;
  prefix: string;
  values: string[];
  /** Maps an offset in `text` back to the original text. */
  originalOffset(offset: number): number;
}

/**
 * The base64 annotations `generate` writes (initdata ~20 KB and the SNP ID blocks per pod) are ~90% of
 * the bytes a re-run reads; the `yaml` lexer and composer walk each one character by character, ~25 ms
 * of a warm `generate` of 30 workloads (issue 15). So they are parsed as short stand-ins and put back
 * into their scalar nodes (`restoreLongValues`). Undefined when the text has none.
 */
function standInLongValues(text: string): StandIns | undefined {
  if (text.length < 1024) return undefined;
  const prefix = `contrastStandIn${randomBytes(6).toString('hex')}n`;
  const values: string[] = [];
  /** Per stand-in: where it ends in the new text, and how many characters were removed up to there. */
  const ends: number[] = [];
  const removedAt: number[] = [];
  let removed = 0;
  const replaced = text.replace(LONG_VALUE, (_m, key: string, value: string, offset: number) => {
    const standIn = `${prefix}${values.length}`;
    values.push(value);
    ends.push(offset - removed + key.length + standIn.length);
    removed += value.length - standIn.length;
    removedAt.push(removed);
    return `${key}${standIn}`;
  });
  if (values.length === 0) return undefined;
  return {
    text: replaced,
    prefix,
    values,
    originalOffset(offset: number): number {
      let delta = 0;
      for (let i = 0; i < ends.length && offset >= ends[i]!; i++) delta = removedAt[i]!;
      return offset + delta;
    },
  };
}

/**
 * Puts each long value back into its node (value and source, as a parse of the original sets them).
 * False when a stand-in was not found as a whole plain mapping value exactly once (say its line was
 * inside a block scalar or a quoted string): the caller then parses the original text.
 */
function restoreLongValues(docs: Document[], standIns: StandIns): boolean {
  const { prefix, values } = standIns;
  const found = new Set<number>();
  let misplaced = false;
  const walk = (node: unknown): void => {
    if (isPair(node)) {
      const v = node.value;
      if (isScalar(v) && typeof v.value === 'string' && v.value.startsWith(prefix)) {
        const i = Number(v.value.slice(prefix.length));
        const original = values[i];
        if (v.type !== Scalar.PLAIN || v.source !== v.value || original === undefined || found.has(i))
          misplaced = true;
        else {
          v.value = original;
          v.source = original;
          found.add(i);
        }
      } else walk(v);
      if (isScalar(node.key) && typeof node.key.value === 'string' && node.key.value.includes(prefix))
        misplaced = true;
      else walk(node.key);
    } else if (isCollection(node)) {
      for (const item of node.items) walk(item);
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes(prefix)) {
      misplaced = true;
    }
  };
  for (const doc of docs) walk(doc.contents);
  return !misplaced && found.size === values.length;
}

/** Input files read ahead of the one being parsed. */
const READ_AHEAD = 8;

/**
 * Reads files or directories (recursively: `.yml`/`.yaml`, sorted by path; symlinks followed, each
 * directory visited once). `-` is stdin. Devices, FIFOs and sockets are refused, never read.
 */
export async function readKubeFiles(paths: string[]): Promise<KubeFile[]> {
  const files: string[] = [];
  if (paths.filter((p) => p === STDIO_PATH).length > 1) {
    throw new ContrastError('- (stdin) can be given only once', { code: 'KUBE_READ' });
  }
  const seenDirs = new Set<string>();
  for (const p of paths) {
    if (p === STDIO_PATH) {
      files.push(p);
      continue;
    }
    const st = await statInput(p);
    if (st.isDirectory()) files.push(...(await yamlFilesUnder(p, seenDirs, `${st.dev}:${st.ino}`)));
    else files.push(p);
  }
  // Files are read ahead (the reads wait on the thread pool) and parsed in order as they arrive, so
  // the next file's read overlaps this one's parse; errors come in file order as before. At most
  // READ_AHEAD are open at once: a directory of thousands of files must not exhaust the descriptors.
  const reading = limit(READ_AHEAD);
  const texts = files.map((f) => reading(() => readTextInput(f, 'YAML input')));
  for (const t of texts) t.catch(() => undefined); // each is awaited below, in order
  const out: KubeFile[] = [];
  for (const [i, f] of files.entries()) out.push(parseKubeFile(f, await texts[i]!));
  return out;
}

async function yamlFilesUnder(dir: string, seen: Set<string>, id: string): Promise<string[]> {
  // A symlink back to an ancestor (or two links to one directory) is walked once.
  if (seen.has(id)) return [];
  seen.add(id);
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) {
      let st;
      try {
        st = await stat(p);
      } catch {
        log.warn(`${p}: broken symbolic link, skipped`);
        continue;
      }
      if (st.isDirectory()) out.push(...(await yamlFilesUnder(p, seen, `${st.dev}:${st.ino}`)));
      else if (/\.ya?ml$/i.test(e.name)) out.push(p); // non-regular targets are refused when read
    } else if (e.isDirectory()) {
      const st = await stat(p);
      out.push(...(await yamlFilesUnder(p, seen, `${st.dev}:${st.ino}`)));
    } else if (/\.ya?ml$/i.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Writes the stream back. A document nobody changed is emitted verbatim. A changed document is its
 * original text with only the lines that differ between the library's rendering before and after the
 * edit replaced; if that cannot be mapped safely, the whole document is re-rendered by the library
 * (still comment- and order-preserving, possibly reformatted).
 */
export function serializeKubeFile(f: KubeFile): string {
  let out = '';
  for (const doc of f.docs) {
    const origin = origins.get(doc);
    let piece: string;
    if (origin) {
      piece = sameShape(shapeOf(doc).shape, origin.shape)
        ? origin.source
        : serializeKnown(doc, origin.source);
    } else {
      piece = doc.toString(renderOptions(true));
      if (out !== '' || f.docs.length > 1) piece = (piece.startsWith('---') ? '' : '---\n') + piece;
    }
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += piece;
  }
  return out;
}

function renderOptions(indentSeq: boolean, flowCollectionPadding = false): ToStringOptions {
  return { lineWidth: 0, minContentWidth: 0, indentSeq, flowCollectionPadding };
}

// Rendering styles tried for a changed document; the one closest to the original text is used so
// that the line diff lines up with the source.
const STYLES: ToStringOptions[] = [
  renderOptions(true),
  renderOptions(false),
  renderOptions(true, true),
  renderOptions(false, true),
];

function serializeKnown(doc: Document, source: string): string {
  if (source.includes('\r\n')) {
    // Work on LF text (the library renders LF) and restore the file's CRLF line ends.
    const lf = serializeKnownLf(doc, source.replace(/\r\n/g, '\n'));
    return lf === source.replace(/\r\n/g, '\n') ? source : lf.replace(/\r?\n/g, '\r\n');
  }
  return serializeKnownLf(doc, source);
}

function serializeKnownLf(doc: Document, source: string): string {
  // The source is parsed again (for the "before" renderings) only when the edited document does not
  // render as the source itself: a document nobody changed (every document of a re-run) usually
  // does, in the first style, and then costs one rendering instead of a parse and two renderings.
  let pristine: Document | undefined;
  let best: { before: string; after: string; score: number; opts: ToStringOptions } | undefined;
  for (const opts of STYLES) {
    const after = doc.toString(opts);
    if (after === source) return source;
    pristine ??= parseDocument(source, { prettyErrors: false, merge: true });
    const before = pristine.toString(opts);
    if (after === before) return source;
    const score = commonLines(before, source);
    if (!best || score > best.score) best = { before, after, score, opts };
    // This style renders the untouched document exactly as written: no other lines up better, so
    // the other styles' renderings (most of a warm `generate`'s YAML time) are skipped.
    if (before === source) break;
  }
  if (!best) return source;
  const spliced = spliceLineDiff(source, best.before, best.after);
  // Accept the splice only if it means exactly what the edited document means. When the source is
  // the library's own rendering, the splice is the edited document's rendering, which is also what
  // the fallback below writes: nothing to check (the check is 2 of the 5 passes over a document).
  if (spliced !== undefined && (spliced === best.after || rendersAs(spliced, best.after, best.opts)))
    return spliced;
  log.debug('a changed YAML document could not be spliced into its original text; re-rendered');
  const rendered = best.after;
  // Keep the separator the original document had.
  return /^---/m.test(source.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '') &&
    !rendered.startsWith('---')
    ? '---\n' + rendered
    : rendered;
}

/** How many spliced documents were checked by parsing them again (tests). */
export const spliceChecks = { parsed: 0 };

/** Whether `text` parses to a document that renders as `rendering` in `opts`. */
function rendersAs(text: string, rendering: string, opts: ToStringOptions): boolean {
  spliceChecks.parsed++;
  return parseDocument(text, { prettyErrors: false, merge: true }).toString(opts) === rendering;
}

function commonLines(a: string, b: string): number {
  const set = new Set(b.split('\n'));
  let n = 0;
  for (const l of a.split('\n')) if (set.has(l)) n++;
  return n;
}
