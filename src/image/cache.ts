// The layer cache: a JSON file (default `layers-cache.json`) in the Contrast 2026 shape — a mixed
// array of layer entries {diff_id, passwd, group, uncompressed_size} and image entries
// {image_ref, layers:[{diff_id, compressed_size}]} — plus `verity_hash`, our per-layer `users`
// detail and a schema marker element. Loaded once, written once at the end under a lock file via
// temp + rename, merged with whatever another run wrote meanwhile. A corrupt or foreign file is
// reported and rebuilt; it never fails the run.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../internal/errors.js';
import { writeFileAtomic } from '../internal/atomic.js';
import { log } from '../internal/log.js';
import type { FileChange, LayerUserFiles } from './users.js';

const CACHE_SCHEMA = 'contrast-ts/layers-cache';
const CACHE_SCHEMA_VERSION = 1;

export interface CachedLayer {
  diffId: string;
  uncompressedSize: number;
  users: LayerUserFiles;
  /** Root over tar ‖ tarfs index (default tarfs options). */
  verityHash?: string;
}

export interface CachedImage {
  imageRef: string;
  layers: Array<{ diffId: string; compressedSize: number }>;
}

interface LayerJson {
  diff_id: string;
  passwd: string;
  group: string;
  uncompressed_size: number;
  verity_hash?: string;
  users: LayerUserFiles;
}

interface ImageJson {
  image_ref: string;
  layers: Array<{ diff_id: string; compressed_size: number }>;
}

const DIGEST = /^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/;

function isChange(v: unknown): v is FileChange {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c['reset'] === 'boolean' && (c['content'] === undefined || typeof c['content'] === 'string');
}

function isUsers(v: unknown): v is LayerUserFiles {
  if (typeof v !== 'object' || v === null) return false;
  const u = v as Record<string, unknown>;
  const g = u['genpolicy'] as Record<string, unknown> | undefined;
  return (
    isChange(u['passwd']) &&
    isChange(u['group']) &&
    typeof g === 'object' &&
    g !== null &&
    isChange(g['passwd']) &&
    isChange(g['group'])
  );
}

function layerFrom(v: Record<string, unknown>): CachedLayer | undefined {
  const diffId = v['diff_id'];
  const size = v['uncompressed_size'];
  const users = v['users'];
  const verity = v['verity_hash'];
  if (typeof diffId !== 'string' || !DIGEST.test(diffId)) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (!isUsers(users)) return undefined;
  if (verity !== undefined && (typeof verity !== 'string' || !/^[0-9a-f]{64}$/.test(verity)))
    return undefined;
  return { diffId, uncompressedSize: size, users, ...(verity === undefined ? {} : { verityHash: verity }) };
}

function imageFrom(v: Record<string, unknown>): CachedImage | undefined {
  const ref = v['image_ref'];
  const layers = v['layers'];
  if (typeof ref !== 'string' || !Array.isArray(layers)) return undefined;
  const out: CachedImage['layers'] = [];
  for (const l of layers as unknown[]) {
    const o = l as Record<string, unknown> | null;
    if (!o || typeof o['diff_id'] !== 'string' || typeof o['compressed_size'] !== 'number') return undefined;
    out.push({ diffId: o['diff_id'], compressedSize: o['compressed_size'] });
  }
  return { imageRef: ref, layers: out };
}

export interface ParsedCache {
  layers: Map<string, CachedLayer>;
  images: Map<string, CachedImage>;
  /** Why the file's content could not be used (it will be rebuilt), if so. */
  problem?: string;
}

export function parseCache(text: string): ParsedCache {
  const layers = new Map<string, CachedLayer>();
  const images = new Map<string, CachedImage>();
  if (text.trim() === '') return { layers, images };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { layers, images, problem: `not valid JSON (${errorMessage(err)})` };
  }
  if (!Array.isArray(data)) return { layers, images, problem: 'not a JSON array' };
  const marker = data.find(
    (e): e is Record<string, unknown> => typeof e === 'object' && e !== null && 'cache_schema' in e,
  );
  if (!marker || marker['cache_schema'] !== CACHE_SCHEMA) {
    return { layers, images, problem: 'written by another tool (no contrast-ts schema marker)' };
  }
  if (marker['schema_version'] !== CACHE_SCHEMA_VERSION) {
    return {
      layers,
      images,
      problem: `schema version ${String(marker['schema_version'])}, this build reads ${CACHE_SCHEMA_VERSION}`,
    };
  }
  for (const e of data as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const o = e as Record<string, unknown>;
    if ('diff_id' in o) {
      const l = layerFrom(o);
      if (l) layers.set(l.diffId, l);
    } else if ('image_ref' in o) {
      const i = imageFrom(o);
      if (i) images.set(i.imageRef, i);
    }
  }
  return { layers, images };
}

function serializeCache(layers: Iterable<CachedLayer>, images: Iterable<CachedImage>): string {
  const out: Array<object> = [{ cache_schema: CACHE_SCHEMA, schema_version: CACHE_SCHEMA_VERSION }];
  const sortedLayers = [...layers].sort((a, b) => (a.diffId < b.diffId ? -1 : 1));
  for (const l of sortedLayers) {
    const j: LayerJson = {
      diff_id: l.diffId,
      // Contrast's fields: this layer's own passwd/group text ("" when it has none).
      passwd: l.users.passwd.content ?? '',
      group: l.users.group.content ?? '',
      uncompressed_size: l.uncompressedSize,
      ...(l.verityHash === undefined ? {} : { verity_hash: l.verityHash }),
      users: l.users,
    };
    out.push(j);
  }
  for (const i of [...images].sort((a, b) => (a.imageRef < b.imageRef ? -1 : 1))) {
    const j: ImageJson = {
      image_ref: i.imageRef,
      layers: i.layers.map((l) => ({ diff_id: l.diffId, compressed_size: l.compressedSize })),
    };
    out.push(j);
  }
  return JSON.stringify(out, null, 2) + '\n';
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Loads the cache; problems are logged as warnings and yield an empty cache. */
export async function loadCache(path: string): Promise<ParsedCache> {
  let text: string | undefined;
  try {
    text = await readIfExists(path);
  } catch (err) {
    log.warn(`layer cache ${path}: cannot read (${errorMessage(err)}); continuing without it`);
    return { layers: new Map(), images: new Map() };
  }
  const parsed = parseCache(text ?? '');
  if (parsed.problem) log.warn(`layer cache ${path}: ${parsed.problem}; ignoring it and rebuilding it`);
  return parsed;
}

const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 30_000;
/** A takeover claim is held for a few file operations; one older than this was left by a crash. */
const CLAIM_STALE_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lock contents: "<pid> <random>", unique per holder (older runs wrote the PID only). */
function lockToken(): string {
  return `${process.pid} ${randomBytes(8).toString('hex')}`;
}

async function readLock(file: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch {
    return undefined; // vanished meanwhile
  }
}

/** Left by a crashed run (dead PID) or held implausibly long. */
function isStale(lock: { text: string; mtimeMs: number }, maxAgeMs: number): boolean {
  const pid = Number(lock.text.trim().split(' ')[0]);
  return (Number.isInteger(pid) && pid > 0 && !alive(pid)) || Date.now() - lock.mtimeMs > maxAgeMs;
}

/**
 * Replaces a stale lock by ours, atomically. Removing it and then creating a new one lets two
 * contenders that both saw it stale both enter (one removes the other's fresh lock). Instead, the
 * takeover itself is serialised by an O_EXCL claim file; its holder re-checks that the lock is still
 * the stale one it saw and renames its own lock file over it, so the lock path never disappears
 * and nobody can slip in between.
 */
async function takeOverStaleLock(lock: string, seen: { text: string }, token: string): Promise<boolean> {
  const claim = `${lock}.takeover`;
  try {
    const h = await open(claim, 'wx', 0o644);
    await h.writeFile(token);
    await h.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = await readLock(claim);
    // A claim of a crashed contender: remove it; the next round competes for a new claim.
    if (other && isStale(other, CLAIM_STALE_MS)) await rm(claim, { force: true });
    return false;
  }
  try {
    const now = await readLock(lock);
    if (!now || now.text !== seen.text || !isStale(now, LOCK_STALE_MS)) return false;
    const mine = `${lock}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(mine, token, { mode: 0o644 });
    await rename(mine, lock);
    log.debug(`layer cache: took over the stale lock ${lock} (was: ${now.text.trim() || 'empty'})`);
    return true;
  } finally {
    await rm(claim, { force: true });
  }
}

/** An exclusive lock file next to the cache: `<path>.lock` holding the owner's PID and a nonce. */
export async function withCacheLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const token = lockToken();
  const start = Date.now();
  let delay = 20;
  for (;;) {
    try {
      const h = await open(lock, 'wx', 0o644);
      await h.writeFile(token);
      await h.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const seen = await readLock(lock);
    if (!seen) continue; // released meanwhile: try to create it again
    if (isStale(seen, LOCK_STALE_MS) && (await takeOverStaleLock(lock, seen, token))) break;
    if (Date.now() - start > LOCK_WAIT_MS) {
      throw new Error(
        `layer cache ${path}: still locked by another run after ${LOCK_WAIT_MS / 1000}s (${lock})`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  try {
    return await fn();
  } finally {
    // Only our own lock: had ours been taken over as stale, the file now belongs to someone else.
    if ((await readLock(lock))?.text === token) await rm(lock, { force: true });
  }
}

/**
 * Adds entries to the cache file: under the lock, re-reads what is there (another run may have
 * written meanwhile), merges, and replaces the file atomically. Failures are warnings.
 */
export async function saveCache(
  path: string,
  layers: Iterable<CachedLayer>,
  images: Iterable<CachedImage>,
): Promise<void> {
  try {
    // The default cache (~/.cache/contrast/) may not exist yet.
    await mkdir(dirname(path), { recursive: true });
    await withCacheLock(path, async () => {
      const current = parseCache((await readIfExists(path)) ?? '');
      for (const l of layers) {
        const prev = current.layers.get(l.diffId);
        current.layers.set(l.diffId, {
          ...l,
          ...(l.verityHash === undefined && prev?.verityHash ? { verityHash: prev.verityHash } : {}),
        });
      }
      for (const i of images) current.images.set(i.imageRef, i);
      await writeFileAtomic(path, serializeCache(current.layers.values(), current.images.values()));
    });
  } catch (err) {
    log.warn(`layer cache ${path}: not written (${errorMessage(err)})`);
  }
}
