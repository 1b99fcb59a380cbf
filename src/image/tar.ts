// Streaming tar reader with the semantics of the Rust `tar` crate as used by tardev-snapshotter's
// tarindex and genpolicy (see docs/policy-generation.md §6): ustar and GNU headers, GNU long
// names/links (`L`/`K`), PAX extended headers (`x`), GNU sparse headers skipped over. Bytes are
// pushed in with `write`; nothing is buffered beyond one header block, extension headers (capped)
// and the contents of files the caller asks for (capped). The archive ends at the first all-zero
// header block; anything after it is counted but not parsed.
import { ContrastError } from '../internal/errors.js';

export const BLOCK = 512;

export interface TarEntry {
  /** Offset of this member's own header block in the archive. */
  headerOffset: number;
  /** Offset of the member's data. */
  dataOffset: number;
  /** Data size (the header's, or PAX `size` when the header says 0). */
  size: number;
  /** Type flag character ('\0' for an old regular file). */
  type: string;
  /** Effective path bytes: GNU long name, else first PAX `path`, else the header (`prefix/name` for ustar). */
  path: Buffer;
  /** The header's own path (`prefix/name` for ustar, else `name`), ignoring extensions: genpolicy's view. */
  headerPath: Buffer;
  /** Effective link target: GNU long link, else PAX `linkpath`, else the header's linkname. */
  linkTarget: Buffer;
  /** The header's own 100-byte linkname field up to the first NUL. */
  headerLinkname: Buffer;
  /** Permission and type bits from the header; null when the field does not parse. */
  mode: number | null;
  uid: number;
  gid: number;
  /** PAX `uid`/`gid` when present and numeric. */
  paxUid: number | null;
  paxGid: number | null;
  /** Header mtime (seconds), as the u64 the header holds. */
  mtime: bigint;
  /** Device numbers; null when the header has none (not ustar/GNU) or they do not parse. */
  devMajor: number | null;
  devMinor: number | null;
}

export interface TarLimits {
  /** Largest GNU long name/link or PAX header accepted (bytes). */
  maxExtensionSize: number;
}

export const defaultTarLimits: TarLimits = { maxExtensionSize: 1 << 20 };

export interface TarVisitor {
  /**
   * Called for every member (not for extension headers). Return a byte cap to receive the data
   * through `onData`/`onEntryEnd`, or 0 to skip it.
   */
  onEntry(entry: TarEntry): number;
  /** The member's complete data (only when `onEntry` asked for it). */
  onData?(entry: TarEntry, data: Buffer): void;
}

/**
 * The components of a member path as a file system resolves it: `""` and `.` dropped, `..` pops;
 * null when the path climbs above the root.
 */
export function pathComponents(path: string): string[] | null {
  const out: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

class TarFormatError extends ContrastError {
  constructor(message: string, offset: number) {
    super(`tar: ${message} (at byte ${offset})`, { code: 'TAR_FORMAT' });
  }
}

type State = 'header' | 'data' | 'sparse' | 'ended';

interface Extensions {
  longName?: Buffer;
  longLink?: Buffer;
  pax?: Buffer;
}

/** Shared by every empty field (most linknames; every ustar prefix of a GNU archive); never written. */
const EMPTY = Buffer.alloc(0);

function cstr(buf: Buffer, start: number, len: number): Buffer {
  if (buf[start] === 0) return EMPTY;
  const field = buf.subarray(start, start + len);
  const nul = field.indexOf(0);
  return Buffer.from(nul < 0 ? field : field.subarray(0, nul));
}

/** A PAX `uid`/`gid` when present and numeric. */
function paxId(pax: Map<string, Buffer> | undefined, key: string): number | null {
  const v = pax?.get(key)?.toString('latin1');
  return v !== undefined && /^[0-9]+$/.test(v) ? u32(BigInt(v)) : null;
}

/** Octal as the tar crate reads it: up to the first NUL, trimmed; undefined when it does not parse. */
export function octal(buf: Buffer, start: number, len: number): bigint | undefined {
  const s = cstr(buf, start, len).toString('latin1').trim();
  if (!/^[0-7]+$/.test(s)) return undefined;
  return BigInt.asUintN(64, BigInt('0o' + s));
}

/** Octal, or GNU base-256 when the top bit of the first byte is set (uid, gid, size, mtime). */
function numeric(buf: Buffer, start: number, len: number): bigint | undefined {
  if ((buf[start]! & 0x80) === 0) return octal(buf, start, len);
  let v = BigInt(buf[start]! & 0x7f);
  for (let i = start + 1; i < start + len; i++) v = (v << 8n) | BigInt(buf[i]!);
  return BigInt.asUintN(64, v);
}

function u32(v: bigint | undefined): number {
  return v === undefined ? 0 : Number(BigInt.asUintN(32, v));
}

// The eight numeric fields of a header are read without allocating when they are plain: the tar walk
// of a 21 k-entry layer allocated ~170 MiB (a Buffer copy, a string and a BigInt per field), which a
// layer worker with a 2 MiB young generation paid for in ~200 scavenges. Every field is at most 12
// bytes, so its value (< 8^12) is exact as a number.

/**
 * A plain octal field: spaces, octal digits, spaces, then NUL or the field's end; -2 for spaces only
 * (an empty field, which does not parse); -1 for anything else (tabs, other bytes), which `octal`
 * reads instead. Where both read a field, they agree (tar.test.ts).
 */
export function plainOctal(buf: Buffer, start: number, len: number): number {
  const end = start + len;
  let i = start;
  while (i < end && buf[i] === 0x20) i++;
  const first = i;
  let v = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 7) break;
    v = v * 8 + d;
  }
  if (i === first) return i === end || buf[i] === 0 ? -2 : -1;
  while (i < end && buf[i] === 0x20) i++;
  return i === end || buf[i] === 0 ? v : -1;
}

/** `octal` as a number. */
function octalNumber(buf: Buffer, start: number, len: number): number | undefined {
  const v = plainOctal(buf, start, len);
  if (v >= 0) return v;
  if (v === -2) return undefined;
  const big = octal(buf, start, len);
  return big === undefined ? undefined : Number(big);
}

/** `numeric(...)` as a number when it is octal (uid, gid, size); base-256 values stay BigInts. */
function numericValue(buf: Buffer, start: number, len: number): number | bigint | undefined {
  return (buf[start]! & 0x80) === 0 ? octalNumber(buf, start, len) : numeric(buf, start, len);
}

/** `u32(numeric(...))`: uid and gid. */
function numericU32(buf: Buffer, start: number, len: number): number {
  const v = numericValue(buf, start, len);
  return typeof v === 'bigint' ? u32(v) : (v ?? 0) % 2 ** 32;
}

function asciiAt(buf: Buffer, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** PAX records `len key=value\n`; parsing stops at the first malformed record. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) break;
    const lenText = data.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenText)) break;
    const len = Number(lenText);
    const end = pos + len;
    if (len <= sp - pos + 1 || end > data.length || data[end - 1] !== 0x0a) break;
    const rec = data.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) break;
    const key = rec.toString('utf8', 0, eq);
    if (!out.has(key)) out.set(key, Buffer.from(rec.subarray(eq + 1)));
    pos = end;
  }
  return out;
}

function stripOneNul(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, b.length - 1) : b;
}

export class TarReader {
  private state: State = 'header';
  private offset = 0;
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Data bytes (plus padding) still to consume for the current member or extension. */
  private remaining = 0;
  private padding = 0;
  private sparseBlocksPending = false;
  private ext: Extensions = {};
  /** Current member or extension being read. */
  private current: {
    entry?: TarEntry;
    extKind?: 'L' | 'K' | 'x';
    cap: number;
    chunks: Buffer[];
    got: number;
  } | null = null;
  private pendingEntry: TarEntry | null = null;
  private pendingCap = 0;

  constructor(
    private readonly visitor: TarVisitor,
    private readonly limits: TarLimits = defaultTarLimits,
  ) {}

  /** True once the end-of-archive block was seen (later bytes are not parsed). */
  get ended(): boolean {
    return this.state === 'ended';
  }

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'ended') {
        this.offset += chunk.length - pos;
        return;
      }
      if (this.state === 'header' || this.state === 'sparse') {
        const take = Math.min(BLOCK - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + take);
        this.headerFill += take;
        pos += take;
        this.offset += take;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          if (this.state === 'header') this.onHeader(this.offset - BLOCK);
          else this.onSparseBlock();
        }
        continue;
      }
      // data
      const take = Math.min(this.remaining + this.padding, chunk.length - pos);
      const dataTake = Math.min(take, this.remaining);
      if (dataTake > 0 && this.current && this.current.cap > 0) {
        this.current.chunks.push(Buffer.from(chunk.subarray(pos, pos + dataTake)));
        this.current.got += dataTake;
      }
      this.remaining -= dataTake;
      this.padding -= take - dataTake;
      pos += take;
      this.offset += take;
      if (this.remaining === 0 && this.padding === 0) this.finishMember();
    }
  }

  /** Call at end of input: a truncated header or member is an error; EOF at a header boundary is fine. */
  end(): void {
    if (this.state === 'ended') return;
    if (this.state === 'header' && this.headerFill === 0) {
      if (this.ext.longName || this.ext.longLink || this.ext.pax) {
        throw new TarFormatError('archive ends after an extension header with no member', this.offset);
      }
      return;
    }
    throw new TarFormatError('truncated archive (unexpected end of data)', this.offset);
  }

  private onHeader(at: number): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      if (this.ext.longName || this.ext.longLink || this.ext.pax) {
        throw new TarFormatError('end of archive right after an extension header', at);
      }
      this.state = 'ended';
      return;
    }
    const sum = octalNumber(h, 148, 8);
    let computed = 0;
    for (let i = 0; i < BLOCK; i++) computed += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum === undefined || computed !== sum) throw new TarFormatError('header checksum mismatch', at);

    const isUstar = asciiAt(h, 257, 'ustar\0') && asciiAt(h, 263, '00');
    const isGnu = asciiAt(h, 257, 'ustar ') && asciiAt(h, 263, ' \0');
    const type = String.fromCharCode(h[156]!);
    const sizeField = numericValue(h, 124, 12);
    if (sizeField === undefined) throw new TarFormatError('header size field does not parse', at);
    if (sizeField > Number.MAX_SAFE_INTEGER) throw new TarFormatError('member size too large', at);
    let size = Number(sizeField);

    if ((isUstar || isGnu) && (type === 'L' || type === 'K' || type === 'x')) {
      const have = type === 'L' ? this.ext.longName : type === 'K' ? this.ext.longLink : this.ext.pax;
      if (have) throw new TarFormatError(`two '${type}' extension headers for one member`, at);
      if (size > this.limits.maxExtensionSize) {
        throw new TarFormatError(
          `'${type}' extension header of ${size} bytes exceeds the ${this.limits.maxExtensionSize}-byte limit`,
          at,
        );
      }
      this.current = { extKind: type, cap: size, chunks: [], got: 0 };
      this.startData(size);
      return;
    }

    // A member: resolve the effective fields from the pending extensions.
    const pax = this.ext.pax ? parsePax(this.ext.pax) : undefined;
    const headerName = cstr(h, 0, 100);
    const prefix = isUstar ? cstr(h, 345, 155) : EMPTY;
    const headerPath = prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), headerName]) : headerName;
    const headerLinkname = cstr(h, 157, 100);
    const path = this.ext.longName ? stripOneNul(this.ext.longName) : (pax?.get('path') ?? headerPath);
    const linkTarget = this.ext.longLink
      ? stripOneNul(this.ext.longLink)
      : (pax?.get('linkpath') ?? headerLinkname);
    if (size === 0 && pax?.has('size')) {
      const s = pax.get('size')!.toString('latin1');
      if (/^[0-9]+$/.test(s) && Number(s) <= Number.MAX_SAFE_INTEGER) size = Number(s);
    }
    const mode = octalNumber(h, 100, 8);
    const hasDev = isUstar || isGnu;
    const devMajor = hasDev ? octalNumber(h, 329, 8) : undefined;
    const devMinor = hasDev ? octalNumber(h, 337, 8) : undefined;
    const mtime = numericValue(h, 136, 12);
    this.ext = {};

    const dataOffset = at + BLOCK;
    this.sparseBlocksPending = false;
    if (type === 'S' && isGnu) {
      validateSparse(h, 386, 4, at);
      if (h[482] !== 0) this.sparseBlocksPending = true;
    }
    const entry: TarEntry = {
      headerOffset: at,
      dataOffset,
      size,
      type,
      path,
      headerPath,
      linkTarget,
      headerLinkname,
      mode: mode ?? null,
      uid: numericU32(h, 108, 8),
      gid: numericU32(h, 116, 8),
      paxUid: paxId(pax, 'uid'),
      paxGid: paxId(pax, 'gid'),
      mtime: typeof mtime === 'bigint' ? mtime : BigInt(mtime ?? 0),
      devMajor: devMajor ?? null,
      devMinor: devMinor ?? null,
    };
    if (this.sparseBlocksPending) {
      this.pendingEntry = entry;
      this.state = 'sparse';
      return;
    }
    this.beginMember(entry);
  }

  private onSparseBlock(): void {
    validateSparse(this.header, 0, 21, this.offset - BLOCK);
    if (this.header[504] !== 0) return; // more extension blocks follow
    const entry = this.pendingEntry!;
    this.pendingEntry = null;
    entry.dataOffset = this.offset;
    this.beginMember(entry);
  }

  private beginMember(entry: TarEntry): void {
    const cap = this.visitor.onEntry(entry);
    if (cap > 0 && entry.size > cap) {
      throw new TarFormatError(
        `${entry.path.toString('utf8')} is ${entry.size} bytes, more than the ${cap}-byte limit`,
        entry.headerOffset,
      );
    }
    this.current = { entry, cap, chunks: [], got: 0 };
    this.pendingCap = cap;
    this.startData(entry.size);
  }

  private startData(size: number): void {
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) {
      this.finishMember();
      return;
    }
    this.state = 'data';
  }

  private finishMember(): void {
    const cur = this.current;
    this.current = null;
    this.state = 'header';
    if (!cur) return;
    if (cur.extKind) {
      const data = Buffer.concat(cur.chunks, cur.got);
      if (cur.extKind === 'L') this.ext.longName = data;
      else if (cur.extKind === 'K') this.ext.longLink = data;
      else this.ext.pax = data;
      return;
    }
    if (cur.entry && this.pendingCap > 0 && this.visitor.onData) {
      this.visitor.onData(cur.entry, Buffer.concat(cur.chunks, cur.got));
    }
  }
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** GNU sparse map entries (offset, numbytes: 12 octal bytes each): a non-empty entry must parse. */
function validateSparse(b: Buffer, start: number, count: number, at: number): void {
  for (let i = 0; i < count; i++) {
    const o = start + i * 24;
    if (b[o] === 0 && b[o + 12] === 0) continue;
    if (numeric(b, o, 12) === undefined || numeric(b, o + 12, 12) === undefined) {
      throw new TarFormatError('bad GNU sparse map', at);
    }
  }
}
