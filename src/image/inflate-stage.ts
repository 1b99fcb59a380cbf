// The first stage of a gzip layer pass when it runs on a layer worker (issue 15): the main thread only
// reads the network and moves the compressed bytes here in batches; this stage digests them, inflates
// them (node:zlib: the inflate itself runs in the libuv pool, this thread only dispatches it) and
// feeds the decoded tar to the pass's tar stage in this thread, which with --verity moves each chunk
// on to the hashing stage on a second worker. A CPU profile of a cold `generate` showed the main
// thread as the bound of the layer phase (blob digest, zlib dispatch, copying partial zlib slices,
// posting) while both workers idled.
import type { Hash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { GzipInflate } from './gzip.js';
import type { Outlet } from './layer-sink.js';
import { INFLATE_CHUNK, OutputGather } from './layer.js';
import type { PeerMessage } from './layer-workers.js';

/**
 * Decoded bytes queued in this thread or moved on to the hashing stage and not yet acknowledged, before
 * the inflate is paused.
 */
export const STAGE_WINDOW = 4 * 1024 * 1024;

/**
 * An outlet in a worker thread: decoded chunks are consumed (tar stage, then moved on) on a later turn
 * of the event loop, so zlib's next step is dispatched to the pool before our work on this one (the
 * reason for OutputPump in layer.ts). The load is what waits here plus what was moved on and not
 * yet acknowledged by the hashing stage; past `highWater` the inflate is paused.
 */
export class StageOutlet implements Outlet {
  private readonly queue: Array<{ b: Uint8Array; owned: boolean }> = [];
  private queued = 0;
  private inFlight = 0;
  private scheduled = false;
  private paused = false;
  private pauseFn: () => void = () => {};
  private resumeFn: () => void = () => {};
  private onFailure: (err: unknown) => void = () => {};
  failure: unknown;

  constructor(
    /** Consumes one chunk; returns the bytes moved on that wait for an acknowledgement. May throw. */
    private readonly consume: (b: Uint8Array, owned: boolean) => number,
    private readonly highWater = STAGE_WINDOW,
  ) {}

  bind(pause: () => void, resume: () => void, onFailure: (err: unknown) => void): void {
    this.pauseFn = pause;
    this.resumeFn = resume;
    this.onFailure = onFailure;
  }

  push(b: Uint8Array, owned = false): void {
    if (this.failure !== undefined || b.length === 0) return;
    this.queue.push({ b, owned });
    this.queued += b.length;
    if (this.full() && !this.paused) {
      this.paused = true;
      this.pauseFn();
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  full(): boolean {
    return this.failure === undefined && this.queued + this.inFlight > this.highWater;
  }

  drained(): Promise<void> {
    // Never awaited in a worker: the inflate stage is paused and resumed through bind.
    return Promise.resolve();
  }

  /** The hashing stage is done with `bytes` moved on earlier. */
  acked(bytes: number): void {
    this.inFlight -= bytes;
    this.maybeResume();
  }

  /** Consumes everything queued (also called once the inflate has ended). */
  drain(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && this.failure === undefined) {
      const { b, owned } = this.queue.shift()!;
      this.queued -= b.length;
      try {
        this.inFlight += this.consume(b, owned);
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    this.maybeResume();
  }

  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.queue.length = 0;
    this.queued = 0;
    this.onFailure(err);
  }

  private maybeResume(): void {
    if (this.paused && !this.full()) {
      this.paused = false;
      this.resumeFn();
    }
  }

  close(): void {
    this.fail(new Error('layer pass aborted'));
  }
}

/**
 * An inflating pass's consumer of decoded chunks: the tar stage (`sink`), then, with a hashing stage on
 * `peer`, the chunk is moved there (copied first unless `owned`). Returns the bytes moved, which the
 * outlet counts until the peer acknowledges them ('vack').
 */
export function moveOnConsumer(
  id: number,
  sink: { write(b: Uint8Array): void },
  peer: Pick<MessagePort, 'postMessage'> | undefined,
): (b: Uint8Array, owned: boolean) => number {
  return (b, owned) => {
    sink.write(b);
    if (!peer) return 0;
    let data = b;
    if (!owned) {
      data = new Uint8Array(b.length);
      data.set(b);
    }
    // Read before the move: a moved chunk has length 0 here.
    const bytes = data.length;
    peer.postMessage({ type: 'vchunk', id, data } satisfies PeerMessage, [data.buffer as ArrayBuffer]);
    return bytes;
  };
}

/**
 * Digests and inflates one blob's compressed bytes into a StageOutlet. A decoding or tar failure does
 * not stop the digest: the pass reports a digest mismatch in preference to the error it causes, so
 * `write` keeps hashing and acknowledging after a failure and `end` returns both.
 */
export class InflateStage {
  private readonly z: GzipInflate;
  private readonly gather: OutputGather | undefined;
  /** Compressed bytes handed to zlib and not yet consumed. */
  private queued = 0;
  private failure: unknown;
  private readonly ended: Promise<void>;

  /**
   * `ack(bytes)`: compressed bytes consumed (or dropped after a failure); the main thread sends more.
   * `whole`: the outlet moves chunks to another thread, so zlib's output buffers are gathered and
   * pushed whole (owned) where possible.
   */
  constructor(
    private readonly blob: Hash,
    private readonly blobAlg: string,
    private readonly outlet: StageOutlet,
    /** `spent`: the chunk, which nothing here uses any more (it may be moved back). */
    private readonly ack: (bytes: number, spent?: Uint8Array) => void,
    whole: boolean,
  ) {
    this.z = new GzipInflate(INFLATE_CHUNK);
    const z = this.z;
    const gather = whole ? new OutputGather(outlet) : undefined;
    this.gather = gather;
    outlet.bind(
      () => z.pause(),
      () => z.resume(),
      (err) => this.fail(err),
    );
    if (gather) {
      z.on('data', (b: Buffer) => {
        gather.add(b);
        // Output that arrives while zlib has no input (resumed after a pause, the end) goes on now.
        if (this.queued === 0) gather.flush();
      });
    } else {
      // The tar stage reads zlib's slices where they are: nothing is moved, nothing copied.
      z.on('data', (b: Buffer) => outlet.push(b));
    }
    this.ended = new Promise<void>((resolve, reject) => {
      z.on('end', () => {
        gather?.flush();
        resolve();
      });
      z.on('error', (err: unknown) => {
        this.fail(err);
        reject(err);
      });
      z.on('close', () => (this.failure !== undefined ? reject(this.failure) : undefined));
    });
    this.ended.catch(() => {});
  }

  write(c: Uint8Array): void {
    this.blob.update(c);
    if (this.failure !== undefined) {
      this.ack(c.length, c);
      return;
    }
    this.queued += c.length;
    this.z.write(c, () => {
      // After a failure the bytes still queued were acknowledged at once.
      if (this.failure !== undefined) return;
      this.queued -= c.length;
      // zlib waits for input (the network is the slower side): what it made must not wait for a full
      // buffer.
      if (this.queued === 0) this.gather?.flush();
      // zlib is done with the chunk once its write callback runs (node lib/zlib.js processCallback
      // drops its reference to the input before calling back).
      this.ack(c.length, c);
    });
  }

  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.outlet.fail(err);
    this.z.destroy();
    const q = this.queued;
    this.queued = 0;
    if (q > 0) this.ack(q);
  }

  /** Stops inflating (the pass was aborted). */
  abort(): void {
    this.fail(new Error('layer pass aborted'));
  }

  /**
   * The blob's digest, and once the inflate has ended and every decoded chunk was consumed here, the
   * failure if any (decoding, tar, limits).
   */
  async end(): Promise<{ blobDigest: string; failure: unknown }> {
    const blobDigest = `${this.blobAlg}:${this.blob.digest('hex')}`;
    if (this.failure === undefined) {
      this.z.end();
      try {
        await this.ended;
      } catch (err) {
        this.fail(err);
      }
    }
    this.outlet.drain();
    return { blobDigest, failure: this.failure ?? this.outlet.failure };
  }
}
