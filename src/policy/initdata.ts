// The one place for the annotations that carry a Kata agent policy and for the initdata codec
// (base64(gzip(TOML)) with the policy under data."policy.rego"). Generation, the manifest digest,
// `policy eval`/`show`/`diff` and `--check` all decode through here, so they cannot disagree on what
// an annotation holds or which digest the TEE measures. Names are cited in test/go-names.test.ts.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync, gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ContrastError, errorMessage } from '../internal/errors.js';

/** Legacy (host pull): base64 of the policy text. */
export const POLICY_ANNOTATION = 'io.katacontainers.config.agent.policy';
/** Initdata (guest pull): base64(gzip(TOML)); the TEE measures the digest of the TOML. */
export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
/** Key of the policy inside the initdata `[data]` table. */
export const INITDATA_POLICY_KEY = 'policy.rego';

export interface Initdata {
  version: string;
  algorithm: string;
  /** The string entries of `[data]`, the policy included. */
  data: Record<string, string>;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * Our initdata TOML: version, sha256, the policy and then the other entries sorted by key, each in the
 * same string style, so the same inputs always give the same bytes (and the same measured digest).
 */
export function initdataToml(policy: string, extra: Record<string, string> = {}): string {
  let out = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n';
  out += `"${INITDATA_POLICY_KEY}" = ${tomlString(policy)}\n`;
  for (const k of Object.keys(extra).sort()) out += `${JSON.stringify(k)} = ${tomlString(extra[k]!)}\n`;
  return out;
}

/** A multi-line literal string when the text allows it (readable, byte-stable), else a basic string. */
function tomlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!s.includes("'''") && !/[\x00-\x08\x0b-\x1f\x7f]/.test(s) && !s.endsWith("'")) return `'''\n${s}'''`;
  return stringifyToml({ v: s }).replace(/^v = /, '').trimEnd();
}

/** The annotation value for an initdata TOML document. */
export function encodeInitdataValue(toml: string): string {
  const bytes = Buffer.from(toml, 'utf8');
  const shared = sharedDeflate(toml, bytes);
  if (!shared) return gzipSync(bytes).toString('base64');
  return gzipMember(shared, deflateRawSync(bytes.subarray(shared.length), DEFLATE), bytes).toString('base64');
}

const gzipAsync = promisify(gzip);
const deflateRawAsync = promisify(deflateRaw);

/**
 * encodeInitdataValue in zlib's thread pool (the same bytes: same deflate settings). The shared rules
 * part is deflated synchronously, once per distinct part (~1 ms for 37 KB).
 */
export async function encodeInitdataValueAsync(toml: string): Promise<string> {
  const bytes = Buffer.from(toml, 'utf8');
  const shared = sharedDeflate(toml, bytes);
  if (!shared) return (await gzipAsync(bytes)).toString('base64');
  const rest = await deflateRawAsync(bytes.subarray(shared.length), DEFLATE);
  return gzipMember(shared, rest, bytes).toString('base64');
}

// The policies of one run share their rules: in each workload's TOML everything up to the policy
// data is the same ~37 KB of its ~87 KB, deflated again for every workload (`perf`, a first
// `generate` of 30 workloads: 33–35 ms of deflate in zlib's pool; 14–15 ms now). That part is
// deflated once, ending with a sync flush (a non-final empty stored block, so the stream stands at
// a byte boundary), and each workload's own part is deflated by a fresh compressor and appended:
// one gzip member any inflater reads (RFC 1951 §3.2.3 allows any sequence of blocks), ~1% larger
// because the data part cannot point back into the rules. The TEE measures the TOML, not these bytes.
const DATA_START = '\npolicy_data := ';
const DEFLATE = { level: constants.Z_DEFAULT_COMPRESSION };

interface SharedDeflate {
  prefix: string;
  /** Bytes of the prefix (UTF-8). */
  length: number;
  deflated: Buffer;
  crc: number;
}

let lastShared: SharedDeflate | undefined;

/** The deflated shared part of `toml` (computed once per distinct part), or undefined when none. */
function sharedDeflate(toml: string, bytes: Buffer): SharedDeflate | undefined {
  if (lastShared && toml.startsWith(lastShared.prefix)) return lastShared;
  const at = toml.indexOf(DATA_START);
  if (at < 0) return undefined;
  const prefix = toml.slice(0, at + DATA_START.length);
  const length = Buffer.byteLength(prefix, 'utf8');
  const head = bytes.subarray(0, length);
  lastShared = {
    prefix,
    length,
    deflated: deflateRawSync(head, { ...DEFLATE, finishFlush: constants.Z_SYNC_FLUSH }),
    crc: crc32(head),
  };
  return lastShared;
}

/** A gzip member (RFC 1952): header, the shared part's blocks, the rest's, CRC-32 and size of `bytes`. */
function gzipMember(shared: SharedDeflate, rest: Buffer, bytes: Buffer): Buffer {
  // ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS = Unix (what zlib writes at this level).
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(bytes.subarray(shared.length), shared.crc), 0);
  trailer.writeUInt32LE(bytes.length >>> 0, 4);
  return Buffer.concat([header, shared.deflated, rest, trailer]);
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzipped UTF-8 text. */
export function gunzipText(bytes: Uint8Array): string {
  try {
    return gunzipSync(bytes).toString('utf8');
  } catch (err) {
    throw new ContrastError(`gzip data is corrupt: ${errorMessage(err)}`, { code: 'BAD_INITDATA' });
  }
}

/** The TOML text of an initdata annotation value. */
export function decodeInitdataValue(annotation: string): string {
  try {
    return gunzipSync(Buffer.from(annotation, 'base64')).toString('utf8');
  } catch (err) {
    throw badInitdata(err);
  }
}

const gunzipAsync = promisify(gunzip);

/** decodeInitdataValue in zlib's thread pool, so the main thread can go on meanwhile. */
export async function decodeInitdataValueAsync(annotation: string): Promise<string> {
  try {
    return (await gunzipAsync(Buffer.from(annotation, 'base64'))).toString('utf8');
  } catch (err) {
    throw badInitdata(err);
  }
}

function badInitdata(err: unknown): ContrastError {
  return new ContrastError(
    `${INITDATA_ANNOTATION} annotation is not base64(gzip(TOML)): ${errorMessage(err)}`,
    { code: 'BAD_INITDATA' },
  );
}

/** The TOML document as parsed (every table and value kept). */
export function parseInitdataDocument(toml: string): Record<string, unknown> {
  try {
    return parseToml(toml) as Record<string, unknown>;
  } catch (err) {
    throw new ContrastError(`initdata is not valid TOML: ${errorMessage(err).split('\n')[0]}`, {
      code: 'BAD_INITDATA',
    });
  }
}

export function parseInitdataToml(toml: string): Initdata {
  const doc = parseInitdataDocument(toml);
  const data = doc['data'];
  const out: Record<string, string> = {};
  if (typeof data === 'object' && data !== null) {
    for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
  }
  return { version: String(doc['version'] ?? ''), algorithm: String(doc['algorithm'] ?? ''), data: out };
}

export function decodeInitdata(annotation: string): Initdata {
  return parseInitdataToml(decodeInitdataValue(annotation));
}

/** The digest the TEE measures for initdata: its `algorithm` (sha256 when absent) over the TOML text. */
export function initdataDigest(toml: string, algorithm: unknown): string {
  const alg = String(algorithm ?? 'sha256')
    .toLowerCase()
    .replace('-', '');
  if (!['sha256', 'sha384', 'sha512'].includes(alg))
    throw new ContrastError(`initdata algorithm "${String(algorithm)}" is not supported`, {
      code: 'BAD_INITDATA',
    });
  return createHash(alg).update(toml, 'utf8').digest('hex');
}

/**
 * The initdata annotation value re-encoded with our TOML, the policy kept and `[data]` entries set
 * (a string) or removed (undefined). Returns the value unchanged when no entry changes.
 */
export function withInitdataEntries(annotation: string, entries: Record<string, string | undefined>): string {
  const { data } = decodeInitdata(annotation);
  const policy = data[INITDATA_POLICY_KEY] ?? '';
  const extra: Record<string, string> = { ...data };
  delete extra[INITDATA_POLICY_KEY];
  let changed = false;
  for (const [k, v] of Object.entries(entries)) {
    if (extra[k] === v) continue;
    changed = true;
    if (v === undefined) delete extra[k];
    else extra[k] = v;
  }
  return changed ? encodeInitdataValue(initdataToml(policy, extra)) : annotation;
}
