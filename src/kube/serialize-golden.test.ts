// Issue 15: serialization skips the second parse of a document's source when the document renders as
// its source, the rendering itself when the document's shape is as parsed, and the check of a splice
// that is the edited document's own rendering. These goldens were written by the code before the
// first of these changes (UPDATE_GOLDEN=1 rewrites them), so any byte the new paths write differently
// fails here: unchanged documents, documents whose only change is our annotation (the re-run case,
// with the long base64 value already in place), and documents with real edits, over the examples and
// the commented test file, LF and CRLF.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMap, isScalar, type Document, type Scalar, type YAMLMap } from 'yaml';
import {
  findWorkloads,
  parseKubeFile,
  podTemplateNode,
  serializeKubeFile,
  setPodAnnotation,
} from './index.js';
import { spliceChecks } from './yaml.js';

const here = import.meta.dirname;
const golden = join(here, 'testdata/serialize');
const inputs = [
  ...readdirSync(join(here, '../../examples'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(here, '../../examples', f)),
  join(here, 'testdata/commented.yaml'),
  join(here, 'testdata/pod-no-metadata-annotations.yaml'),
];
const LONG = Buffer.alloc(1200, 7).toString('base64'); // 1600 characters: long enough for parseKubeFile to stand it in

type Edit = (text: string, path: string) => string;

/** In-place edits of every document's top-level map: the library changes a node without replacing it. */
function inPlace(change: (map: YAMLMap, doc: Document) => void): Edit {
  return (text, path) => {
    const f = parseKubeFile(path, text);
    for (const doc of f.docs) if (isMap(doc.contents)) change(doc.contents, doc);
    return serializeKubeFile(f);
  };
}
const firstString = (map: YAMLMap): Scalar | undefined => {
  for (const p of map.items) if (isScalar(p.value) && typeof p.value.value === 'string') return p.value;
  for (const p of map.items) if (isMap(p.value)) return firstString(p.value);
  return undefined;
};
const firstMap = (map: YAMLMap): YAMLMap | undefined => map.items.map((p) => p.value).find((v) => isMap(v));
const edits: Record<string, Edit> = {
  unchanged: (text, path) => serializeKubeFile(parseKubeFile(path, text)),
  annotate: (text, path) => {
    const f = parseKubeFile(path, text);
    for (const w of findWorkloads([f], { runtimeClassPrefix: '' }))
      setPodAnnotation(w, 'example.com/p', LONG);
    return serializeKubeFile(f);
  },
  // A second run: the annotation is already there with the same value.
  reannotate: (text, path) => edits['annotate']!(edits['annotate']!(text, path), path),
  // A second run that changes the value.
  replace: (text, path) => {
    const f = parseKubeFile(path, edits['annotate']!(text, path));
    for (const w of findWorkloads([f], { runtimeClassPrefix: '' })) setPodAnnotation(w, 'example.com/p', 'x');
    return serializeKubeFile(f);
  },
  // Issue 15: a document whose parse-time shape is unchanged is written back without rendering; each
  // of these changes a node in place and must still show in the output.
  restyle: inPlace((m) => {
    const s = firstString(m);
    if (s) s.type = 'QUOTE_DOUBLE';
  }),
  valueInPlace: inPlace((m) => {
    const s = firstString(m);
    if (s) s.value = `${String(s.value)}-x`;
  }),
  sameValue: inPlace((m) => {
    const s = firstString(m);
    if (s) s.value = String(s.value);
  }),
  comment: inPlace((m) => {
    m.commentBefore = ' added';
  }),
  docComment: inPlace((_m, doc) => {
    doc.comment = ' trailing';
  }),
  removeLast: inPlace((m) => {
    m.items.pop();
  }),
  reverse: inPlace((m) => {
    m.items.reverse();
  }),
  flow: inPlace((m) => {
    const inner = firstMap(m);
    if (inner) inner.flow = !inner.flow;
  }),
  blankLine: inPlace((m) => {
    const last = m.items[m.items.length - 1];
    if (isScalar(last?.key)) last.key.spaceBefore = true;
  }),
  image: (text, path) => {
    const f = parseKubeFile(path, text);
    for (const w of findWorkloads([f], { runtimeClassPrefix: '' })) {
      podTemplateNode(w).setIn(
        ['spec', 'containers', 0, 'image'],
        'registry.example.com/x@sha256:' + '0'.repeat(64),
      );
      podTemplateNode(w).setIn(['spec', 'runtimeClassName'], 'contrast-cc-metal-qemu-snp-0000');
    }
    return serializeKubeFile(f);
  },
};

for (const input of inputs) {
  for (const crlf of [false, true]) {
    for (const [name, edit] of Object.entries(edits)) {
      const base = `${input.split('/').pop()}${crlf ? '.crlf' : ''}.${name}`;
      test(`serialize golden: ${base}`, () => {
        let text = readFileSync(input, 'utf8');
        if (crlf) text = text.replace(/\n/g, '\r\n');
        const out = edit(text, input);
        const file = join(golden, base);
        if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, out);
        assert.equal(out, readFileSync(file, 'utf8'));
      });
    }
  }
}

test("serialize: a splice that is the edited document's rendering is written without parsing it again", () => {
  const annotate = (text: string): { out: string; checks: number } => {
    const f = parseKubeFile('in.yaml', text);
    for (const w of findWorkloads([f], { runtimeClassPrefix: '' }))
      setPodAnnotation(w, 'example.com/p', LONG);
    const before = spliceChecks.parsed;
    const out = serializeKubeFile(f);
    return { out, checks: spliceChecks.parsed - before };
  };
  // Written as the library writes it (what `generate` wrote last time, or plain kubectl-style YAML):
  // the splice is the rendering, and it is not checked.
  const plain = 'kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: i\n';
  const own = annotate(plain);
  assert.equal(own.checks, 0);
  assert.equal(
    own.out,
    `kind: Pod\nmetadata:\n  name: p\n  annotations:\n    example.com/p: ${LONG}\nspec:\n  containers:\n    - name: c\n      image: i\n`,
  );
  // A comment the library would place differently: the splice keeps the source's lines, and is checked.
  const commented = plain.replace('image: i\n', 'image: i    # the image\n');
  const spliced = annotate(commented);
  assert.equal(spliced.checks, 1);
  assert.equal(spliced.out, own.out.replace('image: i\n', 'image: i    # the image\n'));
});
