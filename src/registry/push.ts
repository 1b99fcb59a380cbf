// Push-side primitives on top of RegistryTransport (OCI distribution spec, "Pushing"): blob existence
// (HEAD), cross-repository mount, monolithic and chunked uploads, manifest existence and PUT.
// Authentication, scopes, retries and redirects all come from the transport; nothing here speaks
// to a token server. Every request asks for `pull,push` on the target repository, because
// distribution refuses uploads with a pull-only token and HEADs must not trigger a second token.
import { Transform, type Readable } from 'node:stream';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { headerValue, readText, type SendResult } from './http.js';
import { manifestAccept } from './manifest.js';
import { repositoryScope } from './scope.js';
import type { RegistryTransport } from './transport.js';
import type { Descriptor } from './types.js';

export interface PushTarget {
  registry: string;
  repository: string;
}

export type UploadMode = 'auto' | 'monolithic' | 'chunked';

export interface UploadOptions {
  /**
   * auto: one streamed PUT up to `chunkThreshold` (fastest), chunked above it (so a broken
   * connection on a huge layer costs one chunk, not the whole blob).
   */
  mode?: UploadMode;
  /** Bytes per PATCH in chunked mode; default 64 MiB. */
  chunkSize?: number;
  /** auto mode: blobs larger than this are uploaded in chunks; default 512 MiB. */
  chunkThreshold?: number;
  /** Blobs up to this size are read into memory first, so their PUT can be retried; default 16 MiB. */
  bufferLimit?: number;
  /** Called with the number of bytes sent so far. */
  onBytes?: (sent: number) => void;
  /** An upload session already opened (a mount answered 202 with a Location). */
  location?: string;
}

const pushActions = ['pull', 'push'] as const;
const defaultChunkSize = 64 * 1024 * 1024;
const defaultChunkThreshold = 512 * 1024 * 1024;
const defaultBufferLimit = 16 * 1024 * 1024;

function describeTarget(t: PushTarget): string {
  return `${t.registry}/${t.repository}`;
}

/** Resolves an upload `Location` (absolute or relative) against the response that sent it. */
function uploadLocation(res: SendResult, what: string): string {
  const loc = headerValue(res.headers, 'location');
  if (!loc)
    throw new ContrastError(`${what}: registry answered ${res.status} without a Location header`, {
      code: 'UPLOAD_PROTOCOL',
    });
  const next = new URL(loc, res.url);
  // The transport attaches the registry's Authorization to the request URL; a session elsewhere
  // would receive our token.
  if (next.origin !== res.url.origin) {
    throw new ContrastError(
      `${what}: registry moved the upload to another origin (${next.origin}); refusing to send credentials there`,
      {
        code: 'UPLOAD_PROTOCOL',
      },
    );
  }
  return next.toString();
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

/** True when the target repository already holds the blob (HEAD; 404 means absent). */
export async function blobExists(t: RegistryTransport, target: PushTarget, digest: string): Promise<boolean> {
  const res = await t.request({
    ...target,
    actions: pushActions,
    method: 'HEAD',
    path: `/v2/${target.repository}/blobs/${digest}`,
    expect: [200, 404],
    what: `blob ${digest} in ${describeTarget(target)}`,
  });
  await res.body.dump();
  return res.status === 200;
}

/**
 * Cross-repository mount (same registry): 201 means the blob is now in `target` without any bytes
 * sent. A registry that cannot mount (other storage, no pull right on `from`) answers 202 and opens a
 * normal upload session, returned as `location` so no extra round trip is wasted.
 */
export async function mountBlob(
  t: RegistryTransport,
  target: PushTarget,
  digest: string,
  fromRepository: string,
): Promise<{ mounted: true } | { mounted: false; location: string }> {
  const what = `mount of blob ${digest} from ${fromRepository} into ${describeTarget(target)}`;
  const res = await t.request({
    ...target,
    actions: pushActions,
    extraScopes: [repositoryScope(fromRepository, ['pull'])],
    method: 'POST',
    path: `/v2/${target.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
    headers: { 'content-length': '0' },
    body: '',
    expect: [201, 202],
    what,
  });
  await res.body.dump();
  if (res.status === 201) return { mounted: true };
  return { mounted: false, location: uploadLocation(res, what) };
}

/** Opens an upload session; returns its Location. */
async function startUpload(t: RegistryTransport, target: PushTarget, what: string): Promise<string> {
  const res = await t.request({
    ...target,
    actions: pushActions,
    method: 'POST',
    path: `/v2/${target.repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    body: '',
    expect: [202],
    what,
  });
  await res.body.dump();
  return uploadLocation(res, what);
}

async function readAll(stream: Readable, onBytes?: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    n += chunk.length;
    onBytes?.(n);
  }
  return Buffer.concat(chunks);
}

/** The same bytes, reporting progress; a source error (digest mismatch) aborts the upload body. */
function counted(stream: Readable, onBytes?: (n: number) => void): Readable {
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      onBytes?.(sent);
      cb(null, chunk);
    },
  });
  stream.on('error', (err) => counter.destroy(err));
  return stream.pipe(counter);
}

/** Yields the stream re-cut into buffers of exactly `size` bytes (the last one shorter). */
async function* rechunk(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const raw of stream as AsyncIterable<Buffer>) {
    let chunk = raw;
    while (chunk.length > 0) {
      const take = Math.min(size - have, chunk.length);
      parts.push(chunk.subarray(0, take));
      have += take;
      chunk = chunk.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts);
}

/**
 * Uploads one blob whose bytes come from `open()` (a digest-verified source stream: a corrupt source
 * errors the stream before the upload is committed, and the registry checks the digest again at the
 * final PUT). Monolithic: one PUT with the whole body. Chunked: PATCHes with Content-Range, then an
 * empty PUT; when a PATCH fails the session's Range says what arrived and only the rest is re-sent.
 */
export async function uploadBlob(
  t: RegistryTransport,
  target: PushTarget,
  desc: Descriptor,
  open: () => Promise<Readable>,
  options: UploadOptions = {},
): Promise<void> {
  const what = `upload of blob ${desc.digest} to ${describeTarget(target)}`;
  const chunkSize = options.chunkSize ?? defaultChunkSize;
  const mode = options.mode ?? 'auto';
  const chunked =
    mode === 'chunked' ||
    (mode === 'auto' && desc.size > Math.max(options.chunkThreshold ?? defaultChunkThreshold, chunkSize));
  let location = options.location ?? (await startUpload(t, target, what));
  if (chunked) {
    location = await patchChunks(t, target, desc, await open(), location, chunkSize, what, options.onBytes);
    const res = await t.request({
      ...target,
      actions: pushActions,
      method: 'PUT',
      path: withDigest(location, desc.digest),
      headers: { 'content-length': '0' },
      body: '',
      expect: [201],
      what,
    });
    await res.body.dump();
    return;
  }
  const bufferLimit = options.bufferLimit ?? defaultBufferLimit;
  const stream = await open();
  // Small blobs are buffered: the PUT is then retryable and re-authenticates on a 401.
  const body: Buffer | Readable =
    desc.size <= bufferLimit ? await readAll(stream, options.onBytes) : counted(stream, options.onBytes);
  const res = await t.request({
    ...target,
    actions: pushActions,
    method: 'PUT',
    path: withDigest(location, desc.digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
    body,
    expect: [201],
    what,
  });
  await res.body.dump();
}

async function uploadOffset(
  t: RegistryTransport,
  target: PushTarget,
  location: string,
  what: string,
): Promise<{ next: number; location: string }> {
  const res = await t.request({
    ...target,
    actions: pushActions,
    method: 'GET',
    path: location,
    expect: [204],
    what: `${what} (status)`,
  });
  await res.body.dump();
  const range = headerValue(res.headers, 'range') ?? '';
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range);
  return {
    next: m ? Number(m[1]) + 1 : 0,
    location: headerValue(res.headers, 'location') ? uploadLocation(res, what) : location,
  };
}

async function patchChunks(
  t: RegistryTransport,
  target: PushTarget,
  desc: Descriptor,
  stream: Readable,
  location: string,
  chunkSize: number,
  what: string,
  onBytes?: (n: number) => void,
): Promise<string> {
  let offset = 0;
  let loc = location;
  for await (const chunk of rechunk(stream, chunkSize)) {
    const start = offset;
    const end = offset + chunk.length - 1;
    for (let attempt = 0; ; attempt++) {
      let res: SendResult;
      try {
        res = await t.request({
          ...target,
          actions: pushActions,
          method: 'PATCH',
          path: loc,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${start}-${end}`,
            'content-length': String(chunk.length),
          },
          body: chunk,
          expect: [202, 416],
          what: `${what} (bytes ${start}-${end})`,
        });
      } catch (err) {
        if (attempt >= 2) throw err;
        log.debug(
          `${what}: PATCH of bytes ${start}-${end} failed (${(err as Error).message}); asking the registry what arrived`,
        );
        res = {
          status: 416,
          headers: {},
          body: undefined as unknown as SendResult['body'],
          url: new URL(loc),
        };
      }
      if (res.status === 202) {
        await res.body.dump();
        loc = uploadLocation(res, what);
        break;
      }
      if (res.body) await readText(res.body);
      // 416 (or a lost answer): the session knows how far it got.
      const state = await uploadOffset(t, target, loc, what);
      loc = state.location;
      if (state.next === end + 1) break; // the chunk did arrive
      if (state.next !== start || attempt >= 2) {
        throw new ContrastError(
          `${what}: registry holds bytes 0-${state.next - 1} of the session, expected ${start}`,
          {
            code: 'UPLOAD_PROTOCOL',
            hint: 'run the command again; finished blobs are skipped',
          },
        );
      }
    }
    offset = end + 1;
    onBytes?.(offset);
  }
  if (offset !== desc.size) {
    throw new ContrastError(`${what}: source delivered ${offset} bytes, descriptor says ${desc.size}`, {
      code: 'UPLOAD_SIZE',
    });
  }
  return loc;
}

/** Digest of the manifest `reference` (tag or digest) names in the target, or undefined if absent. */
export async function manifestDigest(
  t: RegistryTransport,
  target: PushTarget,
  reference: string,
): Promise<string | undefined> {
  const res = await t.request({
    ...target,
    actions: pushActions,
    method: 'HEAD',
    path: `/v2/${target.repository}/manifests/${reference}`,
    headers: { accept: manifestAccept },
    expect: [200, 404],
    what: `manifest ${describeTarget(target)}:${reference}`,
  });
  await res.body.dump();
  if (res.status !== 200) return undefined;
  return (
    headerValue(res.headers, 'docker-content-digest') ?? (reference.includes(':') ? reference : undefined)
  );
}

/** PUTs manifest bytes verbatim under a tag or digest; checks the digest the registry computed. */
export async function putManifest(
  t: RegistryTransport,
  target: PushTarget,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  expectedDigest: string,
): Promise<void> {
  const what = `manifest ${describeTarget(target)}:${reference}`;
  const res = await t.request({
    ...target,
    actions: pushActions,
    method: 'PUT',
    path: `/v2/${target.repository}/manifests/${reference}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: bytes,
    expect: [201],
    what,
  });
  await res.body.dump();
  const served = headerValue(res.headers, 'docker-content-digest');
  if (served && served !== expectedDigest) {
    throw new ContrastError(
      `${what}: registry stored digest ${served}, expected ${expectedDigest} (it rewrote the manifest)`,
      {
        code: 'DIGEST_CHANGED',
      },
    );
  }
}
