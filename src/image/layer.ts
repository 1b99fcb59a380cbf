// One streaming pass over one layer blob: compressed digest and size, decompression chosen by media
// type, diff_id, tar walk (passwd/group, tarfs index) and the dm-verity root over tar ‖ index.
// Nothing is written to disk; memory is bounded by the tar reader's and index builder's limits.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { Decompress as ZstdDecompress } from 'fzstd';
import { ContrastError, errorMessage } from '../internal/errors.js';
import type { Descriptor } from '../registry/types.js';
import { GzipInflate } from './gzip.js';
import { TarReader, defaultTarLimits, type TarLimits } from './tar.js';
import { IndexBudget, TarfsIndexBuilder, defaultIndexBudget, type TarfsOptions } from './tarfs.js';
import type { LayerAnalysis } from './types.js';
import { UserFilesCollector, type LayerUserFiles } from './users.js';
import { VerityHasher } from './verity.js';
import { INFLATE_BATCH, takeBatch, workerInflatePass, workerSink } from './layer-workers.js';
import type { LayerSink, Outlet, SinkResult, SinkSpec } from './layer-sink.js';

export type { LayerSink, Outlet, SinkResult, SinkSpec } from './layer-sink.js';

/** Compressed bytes handed to the decoder at once. */
const DECODE_BATCH = 256 * 1024;

/** Below this compressed size a layer is analysed in this thread (a worker round trip costs more). */
const WORKER_MIN_SIZE = 256 * 1024;

export type Compression = 'gzip' | 'zstd' | 'none';

const MEDIA_TYPES: Record<string, Compression> = {
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
};

export function compressionOf(mediaType: string): Compression {
  const c = MEDIA_TYPES[mediaType];
  if (!c) {
    throw new ContrastError(`unsupported layer media type "${mediaType}"`, {
      code: 'LAYER_MEDIA_TYPE',
      hint: 'supported: OCI/Docker tar, tar+gzip and tar+zstd layers',
    });
  }
  return c;
}

export interface LayerPassOptions {
  /** Build the tarfs index and compute the dm-verity root (AKS / tarfs-era policies). */
  verity?: boolean;
  tarfs?: TarfsOptions;
  tarLimits?: TarLimits;
  /** Stop decompressing past this many bytes (zip bombs). Default 64 GiB. */
  maxUncompressedSize?: number;
  /** zstd decoder: the `zstd` program when installed (fast, `auto`), or the pure-JS fzstd. */
  zstdDecoder?: 'auto' | 'fzstd' | 'program';
  /**
   * Run the tar analysis (diff_id, tar walk, tarfs index, dm-verity) on a worker thread beside the
   * inflate (`true`), in this thread (`false`), or on a worker for layers of 256 KiB and more
   * (`auto`, the default).
   */
  worker?: boolean | 'auto';
  /**
   * For a gzip pass on the workers: digest and inflate the blob there, so this thread only reads the
   * network (`worker`, the default), or here, moving the decoded chunks (`main`; the bench's A/B).
   */
  inflateOn?: 'worker' | 'main';
  /** Called with the compressed bytes read so far. */
  onProgress?: (compressedBytes: number) => void;
}

/** What one pass over a layer yields: its LayerAnalysis plus its passwd/group changes. */
export interface LayerPassResult extends LayerAnalysis {
  users: LayerUserFiles;
}

export function hasherFor(digest: string, what: string): { alg: string; hash: Hash } {
  const alg = digest.slice(0, digest.indexOf(':'));
  if (alg !== 'sha256' && alg !== 'sha512') {
    throw new ContrastError(`${what} "${digest}" uses an unsupported digest algorithm`, {
      code: 'DIGEST_ALGORITHM',
    });
  }
  return { alg, hash: createHash(alg) };
}

/** Consumes the decompressed tar: diff_id, tar walk, tarfs index and verity. */
export class TarSink {
  /** The diff_id hash; undefined when it is computed elsewhere (see the constructor). */
  private readonly hash: Hash | undefined;
  private readonly alg: string;
  bytes = 0;
  private released = false;
  private readonly tar: TarReader;
  private readonly users = new UserFilesCollector();
  private readonly index: TarfsIndexBuilder | undefined;
  private readonly verity: VerityHasher | undefined;
  private readonly maxBytes: number;

  /**
   * `hashes: 'elsewhere'`: the diff_id and the dm-verity tree are hashed by another stage (a second
   * layer worker, which gets the chunks after this sink and the index from `finishTar`); this sink
   * walks the tar and builds the index only. The two hashes go together so that the stages balance:
   * the hashes cost per byte, the tar walk per entry.
   */
  constructor(spec: SinkSpec, budget?: IndexBudget, hashes: 'here' | 'elsewhere' = 'here') {
    const h = hasherFor(spec.diffId, 'diff_id');
    this.alg = h.alg;
    this.hash = hashes === 'here' ? h.hash : undefined;
    this.maxBytes = spec.maxBytes;
    if (spec.verity) {
      this.index = new TarfsIndexBuilder({ ...spec.tarfs, ...(budget ? { budget } : {}) });
      if (hashes === 'here') this.verity = new VerityHasher();
    }
    const index = this.index;
    const users = this.users;
    this.tar = new TarReader(
      {
        onEntry: (e) => {
          index?.add(e);
          return users.onEntry(e);
        },
        onData: (e, data) => users.onData(e, data),
      },
      spec.tarLimits,
    );
  }

  write(chunk: Uint8Array): void {
    // A decoder may still hand over queued output after the pass failed: ignore it.
    if (this.released) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      throw new ContrastError(
        `layer decompresses to more than ${this.maxBytes} bytes; refusing it (decompression bomb?)`,
        {
          code: 'LAYER_LIMIT',
        },
      );
    }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.hash?.update(buf);
    this.verity?.update(buf);
    this.tar.write(buf);
  }

  /** Returns the index's memory reservation (the pass is over, successful or not). */
  release(): void {
    this.released = true;
    this.index?.release();
  }

  finish(): SinkResult {
    const result = this.endTar();
    if (this.index && this.verity) {
      for (const piece of this.index.build(this.bytes)) this.verity.update(piece);
      result.verityRoot = this.verity.digest();
    }
    return result;
  }

  /**
   * Ends the tar when the hashes run elsewhere: the result (its diffId left empty for the hashing stage
   * to fill in) and the index bytes that follow the tar in the dm-verity tree.
   */
  finishTar(): { result: SinkResult; index: Buffer } {
    const result = this.endTar();
    // build() reuses its zero-gap buffer between pieces, so they are gathered into one copy.
    return { result, index: this.index ? Buffer.concat([...this.index.build(this.bytes)]) : Buffer.alloc(0) };
  }

  private endTar(): SinkResult {
    this.tar.end();
    const diffId = this.hash ? `${this.alg}:${this.hash.digest('hex')}` : '';
    return { diffId, users: this.users.result, bytes: this.bytes };
  }
}

const HIGH_WATER = 8 * 1024 * 1024;

/**
 * Hands decoded chunks to `out` on a later turn of the event loop instead of inside the decoder's
 * own callback. Node's zlib dispatches the next inflate step to the thread pool only after its
 * 'data' listeners return, so calling `out` (hashing, tar walk, verity) synchronously serialises
 * the inflate with our work; a CPU profile showed the main thread idle ~45% of a layer pass. With
 * this queue the pool inflates chunk N+1 while the main thread digests chunk N. The queue is
 * bounded: past `highWater` bytes the decoder is paused until the backlog is consumed.
 */
class OutputPump implements Outlet {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private scheduled = false;
  private pause: () => void = () => {};
  private resume: () => void = () => {};
  private onFailure: (err: unknown) => void = () => {};
  private waiters: Array<() => void> = [];
  failure: unknown;

  constructor(
    private readonly out: (b: Uint8Array) => void,
    private readonly highWater = HIGH_WATER,
  ) {}

  bind(pause: () => void, resume: () => void, onFailure: (err: unknown) => void): void {
    this.pause = pause;
    this.resume = resume;
    this.onFailure = onFailure;
  }

  push(b: Uint8Array): void {
    if (this.failure !== undefined) return;
    this.queue.push(b);
    this.queued += b.length;
    if (this.queued > this.highWater) this.pause();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  full(): boolean {
    return this.failure === undefined && this.queued > this.highWater;
  }

  drained(): Promise<void> {
    return this.full() ? new Promise((r) => this.waiters.push(r)) : Promise.resolve();
  }

  /** Processes everything queued (also called once the decoder has ended). */
  drain(): void {
    this.scheduled = false;
    const wasFull = this.queued > this.highWater;
    while (this.queue.length > 0 && this.failure === undefined) {
      const b = this.queue.shift()!;
      this.queued -= b.length;
      try {
        this.out(b);
      } catch (err) {
        this.failure = err;
        this.queue.length = 0;
        this.queued = 0;
        this.wake();
        this.onFailure(err);
        return;
      }
    }
    if (wasFull) this.resume();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  close(): void {
    this.failure ??= new Error('layer pass aborted');
    this.queue.length = 0;
    this.queued = 0;
    this.wake();
  }
}

/** The tar analysis in this thread, behind an OutputPump. */
export function localSink(spec: SinkSpec, budget?: IndexBudget): LayerSink {
  const sink = new TarSink(spec, budget);
  const pump = new OutputPump((b) => sink.write(b));
  return {
    outlet: pump,
    finish: async () => {
      pump.drain();
      if (pump.failure !== undefined) throw pump.failure;
      return sink.finish();
    },
    release: async () => sink.release(),
  };
}

/** A decompressor fed compressed chunks; it pushes decompressed data into an outlet. */
export interface Decoder {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
  abort(): void;
}

function identityDecoder(outlet: Outlet): Decoder {
  return {
    async write(c) {
      if (outlet.failure !== undefined) throw outlet.failure;
      outlet.push(c);
      if (outlet.full()) await outlet.drained();
      if (outlet.failure !== undefined) throw outlet.failure;
    },
    end: async () => {
      if (outlet.failure !== undefined) throw outlet.failure;
    },
    abort: () => outlet.close(),
  };
}

/** Compressed bytes queued in zlib before a decoder write waits (see gunzipDecoder). */
const INPUT_QUEUE = 1024 * 1024;

/** Inflate output chunk size: the fixed cost per chunk (pool dispatch, callback, Buffer) dominates at 16-64 KiB. */
export const INFLATE_CHUNK = 1024 * 1024;

/**
 * Hands zlib's output to an outlet a whole output buffer at a time. zlib inflates into a chunkSize
 * buffer, emits each step's output as a slice of it and starts a new buffer once it is full (node
 * lib/zlib.js processCallback), so the slices of one buffer are contiguous from offset 0, and once the
 * last one ends at the buffer's end zlib never writes to that buffer again: it is pushed as one owned
 * chunk, which a worker outlet moves to its thread instead of copying. (Pushing each slice meant
 * copying nearly all of them: a 256 KiB input batch yields ~900 KiB, rarely exactly one buffer.)
 * `flush` pushes what is gathered as a copy, when zlib may still write to the rest of the buffer.
 */
export class OutputGather {
  private buffer: ArrayBufferLike | undefined;
  private start = 0;
  private end = 0;

  constructor(
    private readonly outlet: Outlet,
    private readonly bufferSize = INFLATE_CHUNK,
  ) {}

  add(b: Uint8Array): void {
    if (this.buffer !== undefined && (b.buffer !== this.buffer || b.byteOffset !== this.end)) this.flush();
    if (b.buffer.byteLength !== this.bufferSize) {
      this.outlet.push(b);
      return;
    }
    if (this.buffer === undefined) {
      this.buffer = b.buffer;
      this.start = b.byteOffset;
    }
    this.end = b.byteOffset + b.length;
    if (this.end === this.bufferSize) {
      const chunk = new Uint8Array(this.buffer, this.start, this.end - this.start);
      const whole = this.start === 0;
      this.buffer = undefined;
      this.outlet.push(chunk, whole);
    }
  }

  flush(): void {
    if (this.buffer === undefined) return;
    const chunk = new Uint8Array(this.buffer, this.start, this.end - this.start);
    this.buffer = undefined;
    this.outlet.push(chunk);
  }
}

export function gunzipDecoder(outlet: Outlet): Decoder {
  // The inflate runs in the libuv thread pool; multi-member streams are accepted (gzip.ts).
  const z = new GzipInflate(INFLATE_CHUNK);
  outlet.bind(
    () => z.pause(),
    () => z.resume(),
    () => z.destroy(),
  );
  // Compressed bytes handed to zlib and not yet inflated. `write` returns while up to INPUT_QUEUE
  // bytes wait, so the pool always has the next step's input: waiting for 'drain' (an empty queue)
  // left the pool idle while the main thread gathered the next batch from the network.
  let queued = 0;
  let lowered: (() => void) | undefined;
  const gather = new OutputGather(outlet);
  z.on('data', (b: Buffer) => {
    gather.add(b);
    // Output that arrives while zlib has no input (resumed after a pause, the end) goes on now.
    if (queued === 0) gather.flush();
  });
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', () => {
      gather.flush();
      resolve();
    });
    z.on('error', (err: unknown) => reject(outlet.failure ?? err));
    z.on('close', () => (outlet.failure !== undefined ? reject(outlet.failure) : undefined));
  });
  done.catch(() => {});
  return {
    async write(c) {
      if (outlet.failure !== undefined) throw outlet.failure;
      queued += c.length;
      z.write(c, () => {
        queued -= c.length;
        // zlib waits for input (the network is the slower side): what it made must not wait for a
        // full buffer.
        if (queued === 0) gather.flush();
        if (queued <= INPUT_QUEUE && lowered) {
          const l = lowered;
          lowered = undefined;
          l();
        }
      });
      if (queued > INPUT_QUEUE) await Promise.race([new Promise<void>((r) => (lowered = r)), done]);
      if (outlet.failure !== undefined) throw outlet.failure;
    },
    async end() {
      z.end();
      await done;
    },
    abort: () => {
      outlet.close();
      z.destroy();
    },
  };
}

function fzstdDecoder(outlet: Outlet): Decoder {
  const d = new ZstdDecompress((chunk) => outlet.push(chunk));
  return {
    write: async (c) => {
      if (outlet.failure !== undefined) throw outlet.failure;
      d.push(c);
      // Yield so other layers' streams progress while this pure-JS decoder works.
      await new Promise<void>((r) => setImmediate(r));
      if (outlet.full()) await outlet.drained();
      if (outlet.failure !== undefined) throw outlet.failure;
    },
    end: async () => {
      d.push(new Uint8Array(0), true);
      if (outlet.failure !== undefined) throw outlet.failure;
    },
    abort: () => outlet.close(),
  };
}

let zstdProgram: boolean | undefined;
function hasZstdProgram(): boolean {
  if (zstdProgram === undefined) {
    try {
      zstdProgram = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
    } catch {
      zstdProgram = false;
    }
  }
  return zstdProgram;
}

function programZstdDecoder(outlet: Outlet): Decoder {
  // --memory caps the window a frame may ask for (bounded memory against hostile frames).
  const child = spawn('zstd', ['-d', '-c', '-q', '--memory=512MB'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  // Same decoupling as for gunzip: zstd keeps decoding into the pipe while we digest its output.
  outlet.bind(
    () => child.stdout.pause(),
    () => child.stdout.resume(),
    () => child.kill(),
  );
  child.stdout.on('data', (b: Buffer) => outlet.push(b));
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (outlet.failure !== undefined) reject(outlet.failure);
      else if (code !== 0) reject(new Error(`zstd: ${stderr.trim() || `exit code ${code}`}`));
      else resolve();
    });
  });
  done.catch(() => {});
  return {
    async write(c) {
      if (outlet.failure !== undefined) throw outlet.failure;
      if (!child.stdin.write(c)) await Promise.race([once(child.stdin, 'drain'), done]);
    },
    async end() {
      child.stdin.end();
      await done;
    },
    abort: () => {
      outlet.close();
      child.kill();
    },
  };
}

function decoderFor(compression: Compression, outlet: Outlet, options: LayerPassOptions): Decoder {
  if (compression === 'gzip') return gunzipDecoder(outlet);
  if (compression === 'none') return identityDecoder(outlet);
  const choice = options.zstdDecoder ?? 'auto';
  if (choice === 'program' || (choice === 'auto' && hasZstdProgram())) return programZstdDecoder(outlet);
  return fzstdDecoder(outlet);
}

/**
 * Reads a layer blob once and returns its analysis. Fails (ContrastError) when the blob's size or
 * digest differs from the descriptor, the uncompressed digest differs from `expectedDiffId`, or the
 * content is not a well-formed tar. A digest mismatch is reported in preference to the decoding
 * error it usually causes.
 */
export async function analyzeLayerStream(
  source: Readable | AsyncIterable<Uint8Array>,
  descriptor: Descriptor,
  expectedDiffId: string,
  options: LayerPassOptions = {},
): Promise<LayerPassResult> {
  const compression = compressionOf(descriptor.mediaType);
  const { hash: blobHash } = hasherFor(descriptor.digest, 'layer digest');
  const spec: SinkSpec = {
    diffId: expectedDiffId,
    verity: options.verity ?? false,
    tarfs: {
      ...(options.tarfs?.paxOwners === undefined ? {} : { paxOwners: options.tarfs.paxOwners }),
      ...(options.tarfs?.maxEntries === undefined ? {} : { maxEntries: options.tarfs.maxEntries }),
    },
    tarLimits: options.tarLimits ?? defaultTarLimits,
    maxBytes: options.maxUncompressedSize ?? 64 * 2 ** 30,
  };
  // An unsupported diff_id algorithm fails here, before any worker or download is involved.
  hasherFor(expectedDiffId, 'diff_id');
  const onWorker =
    options.worker === 'auto' || options.worker === undefined
      ? descriptor.size >= WORKER_MIN_SIZE
      : options.worker;
  if (onWorker && compression === 'gzip' && options.inflateOn !== 'main') {
    return passInflatingOnWorker(source, descriptor, expectedDiffId, options, spec);
  }
  const sink = onWorker
    ? workerSink(spec, options.tarfs?.budget ?? defaultIndexBudget, undefined, descriptor.size)
    : localSink(spec, options.tarfs?.budget);
  try {
    return await passOver(source, descriptor, expectedDiffId, options, compression, blobHash, sink);
  } finally {
    await sink.release();
  }
}

async function passOver(
  source: Readable | AsyncIterable<Uint8Array>,
  descriptor: Descriptor,
  expectedDiffId: string,
  options: LayerPassOptions,
  compression: Compression,
  blobHash: Hash,
  sink: LayerSink,
): Promise<LayerPassResult> {
  const decoder = decoderFor(compression, sink.outlet, options);
  let compressed = 0;
  let decodeError: unknown;
  const where = `layer ${descriptor.digest}`;
  try {
    // Network chunks (16-64 KiB) are gathered into batches of DECODE_BATCH before they go to the
    // decoder: each write is at least one dispatch to zlib's pool and one callback, and bigger
    // writes give bigger output chunks (fewer messages to the layer worker).
    let batch: Buffer[] = [];
    let batched = 0;
    const feed = async (): Promise<void> => {
      const input = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
      // After a decoding error keep reading, so a tampered blob is reported as such.
      if (decodeError !== undefined) return;
      try {
        await decoder.write(input);
      } catch (err) {
        decodeError = err;
        decoder.abort();
      }
    };
    for await (const c of source) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
      compressed += chunk.length;
      if (compressed > descriptor.size) {
        throw blobTooLarge(where, descriptor.size);
      }
      blobHash.update(chunk);
      options.onProgress?.(compressed);
      if (decodeError !== undefined) continue;
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= DECODE_BATCH) await feed();
    }
    if (batched > 0) await feed();
  } catch (err) {
    decoder.abort();
    throw err;
  }
  if (compressed !== descriptor.size) {
    decoder.abort();
    throw blobSizeMismatch(where, compressed, descriptor.size);
  }
  const got = `${descriptor.digest.slice(0, descriptor.digest.indexOf(':'))}:${blobHash.digest('hex')}`;
  if (got !== descriptor.digest) {
    decoder.abort();
    throw blobDigestMismatch(where, got);
  }
  if (decodeError === undefined) {
    try {
      await decoder.end();
    } catch (err) {
      decodeError = err;
    }
  }
  let result: SinkResult;
  try {
    if (decodeError !== undefined) throw decodeError;
    result = await sink.finish();
  } catch (err) {
    throw passFailure(where, compression, err);
  }
  return passResult(descriptor, expectedDiffId, result);
}

/** A failure of the decoding or tar side of a pass, as reported for the layer. */
function passFailure(where: string, compression: Compression, err: unknown): ContrastError {
  if (err instanceof ContrastError) {
    return new ContrastError(`${where}: ${err.message}`, {
      code: err.code,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  }
  return new ContrastError(`${where}: cannot decompress (${compression}): ${errorMessage(err)}`, {
    code: 'LAYER_DECODE',
    cause: err,
  });
}

function passResult(descriptor: Descriptor, expectedDiffId: string, result: SinkResult): LayerPassResult {
  if (result.diffId !== expectedDiffId) {
    throw new ContrastError(
      `layer ${descriptor.digest}: uncompressed content has diff_id ${result.diffId}, but the image config says ${expectedDiffId}`,
      {
        code: 'DIFF_ID_MISMATCH',
        hint: 'the image config and its layers do not belong together; refusing the image',
      },
    );
  }
  return {
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    size: descriptor.size,
    diffId: result.diffId,
    uncompressedSize: result.bytes,
    ...(result.verityRoot === undefined ? {} : { verityRoot: result.verityRoot }),
    users: result.users,
  };
}

/** The blob checks of both pass kinds (passOver, passInflatingOnWorker), worded once. */
function blobTooLarge(where: string, declared: number): ContrastError {
  return new ContrastError(`${where}: blob is larger than the ${declared} bytes its descriptor declares`, {
    code: 'BLOB_SIZE',
  });
}

function blobSizeMismatch(where: string, got: number, declared: number): ContrastError {
  return new ContrastError(`${where}: blob has ${got} bytes, its descriptor declares ${declared}`, {
    code: 'BLOB_SIZE',
  });
}

function blobDigestMismatch(where: string, got: string): ContrastError {
  return new ContrastError(`${where}: content digest is ${got}; refusing the tampered or corrupt blob`, {
    code: 'BLOB_DIGEST',
  });
}

/**
 * A gzip pass whose per-byte work all runs on the layer workers (layer-workers.ts workerInflatePass):
 * this thread reads the network, checks the size and copies the network's chunks into batches it owns
 * (the chunks themselves are the HTTP client's and may share memory), which are moved to the worker.
 * The same checks in the same order as passOver: size, then the digest (computed on the worker, which
 * keeps digesting after a decoding failure), then the decoding/tar failure, then the diff_id.
 */
async function passInflatingOnWorker(
  source: Readable | AsyncIterable<Uint8Array>,
  descriptor: Descriptor,
  expectedDiffId: string,
  options: LayerPassOptions,
  spec: SinkSpec,
): Promise<LayerPassResult> {
  const where = `layer ${descriptor.digest}`;
  const alg = descriptor.digest.slice(0, descriptor.digest.indexOf(':'));
  const pass = workerInflatePass(
    spec,
    options.tarfs?.budget ?? defaultIndexBudget,
    alg,
    undefined,
    descriptor.size,
  );
  // A failure of the pass itself (its worker died, it could not start) has no digest verdict to prefer.
  const onPass = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      throw passFailure(where, 'gzip', err);
    }
  };
  try {
    let compressed = 0;
    let batch = takeBatch();
    let fill = 0;
    for await (const c of source) {
      compressed += c.length;
      if (compressed > descriptor.size) {
        throw blobTooLarge(where, descriptor.size);
      }
      options.onProgress?.(compressed);
      for (let at = 0; at < c.length;) {
        const n = Math.min(c.length - at, INFLATE_BATCH - fill);
        batch.set(n === c.length ? c : c.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === INFLATE_BATCH) {
          const full = batch;
          batch = takeBatch();
          fill = 0;
          await onPass(() => pass.write(full));
        }
      }
    }
    if (fill > 0) await onPass(() => pass.write(batch.subarray(0, fill)));
    if (compressed !== descriptor.size) {
      throw blobSizeMismatch(where, compressed, descriptor.size);
    }
    const outcome = await onPass(() => pass.finish());
    if (outcome.blobDigest !== descriptor.digest) throw blobDigestMismatch(where, outcome.blobDigest);
    if (outcome.failure !== undefined) throw passFailure(where, 'gzip', outcome.failure);
    return passResult(descriptor, expectedDiffId, outcome.result!);
  } finally {
    await pass.release();
  }
}
