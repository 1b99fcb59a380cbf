// The main thread's side of the layer worker threads (layer-worker.ts). One pass's decompressed
// chunks are posted to a worker, which hashes them (diff_id, dm-verity) and walks the tar (users,
// tarfs index) while this thread keeps reading the network, digesting the compressed bytes and
// dispatching the inflate to zlib's pool. Profile of one 165 MiB gzip layer (issue 15): the main
// thread carried ~2 s of CPU against ~1.6 s of inflate, so it was the critical path; with the tar
// analysis on a worker the pass is bounded by the inflate and several layers use every core.
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { ContrastError } from '../internal/errors.js';
import { defaultTierUpBudget, restoreTierUpBudget } from '../internal/tiering.js';
import type { LayerSink, Outlet, SinkResult, SinkSpec } from './layer-sink.js';
import type { IndexBudget } from './tarfs.js';

/**
 * Messages to a worker. Decoded chunks are moved (transferred): the tar stage moves each on to the
 * dm-verity stage, which frees it; nothing is copied between threads.
 */
export type ToWorker =
  | { type: 'peer'; key: number; port: MessagePort }
  | {
      type: 'start';
      id: number;
      spec: SinkSpec;
      /** `held`: this pass's own reservation, returned by the main thread if the worker dies. */
      budget: { shared: SharedArrayBuffer; maxBytes: number; held: SharedArrayBuffer };
      /** The worker (by key) that hashes this pass's dm-verity tree; absent: this worker does. */
      verityPeer?: number;
      /**
       * The pass gets the compressed gzip blob ('cchunk') and digests (with this algorithm) and inflates
       * it on the worker; absent: it gets decoded chunks ('chunk').
       */
      inflate?: string;
    }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'cchunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number };

/** Between the tar stage of a pass and its dm-verity stage on another worker. */
export type PeerMessage =
  /** `ackPeer`: acknowledge chunks to the tar stage ('vack'), which paces the inflate; else to the main thread. */
  | { type: 'vstart'; id: number; diffId: string; ackPeer?: boolean }
  | { type: 'vchunk'; id: number; data: Uint8Array }
  | { type: 'vack'; id: number; bytes: number }
  | { type: 'vend'; id: number; index: Uint8Array }
  | { type: 'vabort'; id: number }
  | { type: 'vdone'; id: number; root: string; diffId: string }
  | { type: 'verror'; id: number; error: WireError };

/** An error as it crosses the thread boundary (ContrastError's fields, so the same error is rebuilt). */
export interface WireError {
  message: string;
  contrast: boolean;
  code?: string;
  hint?: string;
}

/**
 * `ack`: bytes the main thread sent (decoded, or compressed for an inflating pass) that are consumed.
 * `blobDigest` (inflating passes): the digest of the compressed bytes, which the main thread checks
 * before it looks at the result or the error.
 */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'ack'; id: number; bytes: number; buffer?: ArrayBuffer }
  | { type: 'done'; id: number; result: SinkResult; blobDigest?: string }
  | { type: 'error'; id: number; error: WireError; blobDigest?: string }
  | { type: 'released'; id: number };

export function toWire(err: unknown): WireError {
  if (err instanceof ContrastError) {
    return { message: err.message, contrast: true, code: err.code, ...(err.hint ? { hint: err.hint } : {}) };
  }
  return { message: err instanceof Error ? err.message : String(err), contrast: false };
}

export function fromWire(e: WireError): Error {
  if (!e.contrast) return new Error(e.message);
  return new ContrastError(e.message, { code: e.code ?? 'LAYER', ...(e.hint ? { hint: e.hint } : {}) });
}

/**
 * Starts the worker script beside this module: `layer-worker.js` in the esbuild bundle (dist/cli,
 * where build.mjs emits it as its own entry point), `layer-worker.ts` from the sources. A worker does
 * not inherit the `--import tsx` hooks of the main thread, so under tsx (tests, benches) a small
 * bootstrap registers them in the worker first.
 */
export function startWorker(keepFlags = false): Worker {
  // A small young generation: the worker's own garbage is tiny (digests, header copies), and V8's
  // default sizing cost ~22 MiB of peak RSS (10 images sharing a base, whole CLI: 158-163 MiB with
  // 4 MiB against 184-185 MiB, same CPU, measured alternately in one session). 2 MiB since the chunks
  // are moved to the workers: a moved 1 MiB buffer is freed only when its worker collects garbage, and
  // the dm-verity stage makes little garbage of its own (165 MiB gzip layer, whole CLI: peak RSS
  // 163-174 MiB with 2 MiB against 174-181 MiB with 4; the 1 GiB layer 147-152 against 158-161).
  const options = { resourceLimits: { maxYoungGenerationSizeMb: 2 } };
  // Node's own code cache, which the worker's start-up uses, needs V8's flags as Node was built with
  // (src/internal/tiering.ts), unless the caller keeps them (`warmLayerWorkers`).
  if (!keepFlags) defaultTierUpBudget();
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./layer-worker.js', import.meta.url), options);
  const script = new URL('./layer-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`,
    { eval: true, ...options },
  );
}

/**
 * Workers started that have not yet loaded their modules: V8's default tier-up budget must hold
 * meanwhile (src/internal/tiering.ts: a changed flag makes V8 refuse Node's code cache for the modules
 * a starting worker loads).
 */
let loadingWorkers = 0;

interface Pass {
  onMessage(m: Exclude<FromWorker, { type: 'ready' }>, from: PooledWorker): void;
  onCrash(err: Error, from: PooledWorker): void;
}

class PooledWorker {
  readonly worker: Worker;
  readonly passes = new Map<number, Pass>();
  /** Workers this one has a channel to (for split passes). */
  readonly peers = new Set<PooledWorker>();
  dead = false;

  constructor(
    private readonly pool: WorkerPool,
    readonly key: number,
    keepFlags = false,
  ) {
    this.worker = startWorker(keepFlags);
    loadingWorkers++;
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') this.loaded();
      else this.passes.get(m.id)?.onMessage(m, this);
    });
    const crash = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      this.loaded();
      this.pool.remove(this);
      const e = new ContrastError(`the layer analysis thread stopped: ${err.message}`, {
        code: 'LAYER_WORKER',
      });
      const passes = [...this.passes.values()];
      this.passes.clear();
      this.worker.unref();
      for (const p of passes) p.onCrash(e, this);
    };
    this.worker.on('error', crash);
    this.worker.on('exit', (code) => crash(new Error(`exit code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again, and a worker
    // started ahead of its first pass (warmLayerWorkers) must not keep the process alive.
    this.worker.unref();
  }

  private loading = true;

  /** The worker has loaded its modules (or died): once none is loading, the CLI's budget is back. */
  private loaded(): void {
    if (!this.loading) return;
    this.loading = false;
    if (--loadingWorkers === 0) restoreTierUpBudget();
  }

  post(m: ToWorker, transfer?: readonly TransferListItem[]): void {
    if (!this.dead) this.worker.postMessage(m, transfer);
  }

  /** Compressed bytes of the passes attached (their weight). */
  bytes = 0;
  private readonly weights = new Map<number, number>();

  attach(id: number, pass: Pass, weight = 0): void {
    if (this.passes.size === 0) this.worker.ref();
    this.passes.set(id, pass);
    this.weights.set(id, weight);
    this.bytes += weight;
  }

  detach(id: number): void {
    if (!this.passes.delete(id)) return;
    this.bytes -= this.weights.get(id) ?? 0;
    this.weights.delete(id);
    // Idle workers must not keep the process alive.
    if (this.passes.size === 0) this.worker.unref();
  }
}

/**
 * Compressed bytes of passes one worker takes before another worker is started for more. A worker
 * costs ~60-100 ms of CPU to start and ~15 MiB of memory; the 17 layers (64 MiB) of a cold `generate`
 * without --verity keep one worker about half busy (blob digest, diff_id, tar walk, zlib dispatch), so
 * a second one there only cost CPU and memory (A/B: CPU 1.14 s vs 1.24 s, peak RSS 172 vs 204 MiB).
 */
export const SHARED_BYTES = 64 * 1024 * 1024;

/**
 * Workers shared by every pass in the process, each taking several passes. With --verity a pass is
 * split over two of them (tar stage, dm-verity stage), so there are at least two.
 */
class WorkerPool {
  private readonly workers: PooledWorker[] = [];
  private nextKey = 1;
  constructor(private readonly size: number) {}

  /**
   * The least loaded worker other than `not` (compressed bytes in flight, then passes) for a pass of
   * `weight` bytes; a new one while the pool is not full and that one would take more than SHARED_BYTES.
   */
  pick(weight: number, not?: PooledWorker): PooledWorker | undefined {
    let best: PooledWorker | undefined;
    for (const w of this.workers) {
      if (w === not) continue;
      if (!best || w.bytes < best.bytes || (w.bytes === best.bytes && w.passes.size < best.passes.size))
        best = w;
    }
    if (
      best &&
      (best.passes.size === 0 || best.bytes + weight <= SHARED_BYTES || this.workers.length >= this.size)
    )
      return best;
    if (this.workers.length >= this.size) return undefined;
    const w = new PooledWorker(this, this.nextKey++);
    this.workers.push(w);
    return w;
  }

  /** Starts workers up to `n` (at most the pool size) so their start-up overlaps the registry round trips. */
  warm(n: number, keepFlags: boolean): void {
    while (this.workers.length < Math.min(n, this.size))
      this.workers.push(new PooledWorker(this, this.nextKey++, keepFlags));
  }

  /** Gives `a` and `b` a MessagePort to each other (once per pair). */
  connect(a: PooledWorker, b: PooledWorker): void {
    if (a.peers.has(b)) return;
    const { port1, port2 } = new MessageChannel();
    a.post({ type: 'peer', key: b.key, port: port1 }, [port1]);
    b.post({ type: 'peer', key: a.key, port: port2 }, [port2]);
    a.peers.add(b);
    b.peers.add(a);
  }

  remove(w: PooledWorker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    for (const p of this.workers) p.peers.delete(w);
  }

  /** Stops every worker (tests; the process exits without this since idle workers are unref'd). */
  async close(): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  /** Stops one worker (tests: a dm-verity stage that dies mid-pass). */
  async kill(key: number): Promise<void> {
    const w = this.workers.find((x) => x.key === key);
    // The passes on it may end (and unref every worker) before its exit is reported; the timer keeps
    // the event loop alive until then.
    const alive = setInterval(() => {}, 1000);
    try {
      await w?.worker.terminate();
    } finally {
      clearInterval(alive);
    }
  }

  keys(): number[] {
    return this.workers.map((w) => w.key);
  }
}

// Each worker is a V8 isolate (~10 MiB) plus the chunks in flight. One per core but the main
// thread's, and at least two, so a --verity pass can run its tar and dm-verity stages side by side.
const pool = new WorkerPool(Math.max(2, availableParallelism() - 1));
let nextId = 1;

/** Stops the layer workers (tests use it to check a crash is reported). */
export function closeLayerWorkers(): Promise<void> {
  return pool.close();
}

/** Test hook: the keys of the running workers, how many are loading, and a way to stop one of them. */
export const layerWorkerPool = {
  keys: (): number[] => pool.keys(),
  loading: (): number => loadingWorkers,
  kill: (key: number): Promise<void> => pool.kill(key),
};

/**
 * Starts the layer workers a run of `verity` passes will use first, during its registry round trips (a
 * worker's start-up, ~50-100 ms of CPU loading its module, would otherwise land in the layer phase):
 * two for --verity (a pass uses both), else one (WorkerPool.pick starts a second for more than
 * SHARED_BYTES in flight).
 *
 * `keepFlags`: for a start long before the first layer, while this thread is busy with work of its own
 * (`generate` reading its YAML). V8's flags stay as they are, so that work keeps the CLI's tier-up
 * budget (with the default, V8 optimized the `yaml` parser: cold `generate` 0.765 → 0.80 s), and the
 * worker loads Node's modules without Node's code cache: ~65 instead of ~35 ms, on a core that is
 * idle then.
 */
export function warmLayerWorkers(verity: boolean, keepFlags = false): void {
  pool.warm(verity ? 2 : 1, keepFlags);
}

/** Decoded bytes handed to the workers and not yet acknowledged before the decoder is paused. */
export const WINDOW = 4 * 1024 * 1024;

/** The workers of one pass: its tar stage and, with --verity, a dm-verity stage on another worker. */
interface PassStages {
  id: number;
  /** This pass's own index reservation, in shared memory (see `IndexBudget`). */
  held: SharedArrayBuffer;
  a: PooledWorker;
  b: PooledWorker | undefined;
}

function pickStages(spec: SinkSpec, weight: number): PassStages {
  const a = pool.pick(weight)!;
  const b = spec.verity ? pool.pick(weight, a) : undefined;
  if (b) pool.connect(a, b);
  return { id: nextId++, held: new SharedArrayBuffer(8), a, b };
}

/**
 * A pass's answer to the death of one of its workers. When the tar stage died it held the pass's
 * index reservation: returned here, or the budget shrinks for every later pass of the process (the
 * dm-verity stage drops its state when its channel to the tar stage closes). When the dm-verity stage
 * died, the tar stage still holds the reservation and reports `released` once it has dropped the pass.
 */
function onStageCrash(
  { id, held, a, b }: PassStages,
  budget: IndexBudget,
  fail: (err: unknown) => void,
  end: () => void,
): Pass['onCrash'] {
  return (err, from) => {
    fail(err);
    if (from === a) {
      budget.releaseHeld(held);
      end();
      return;
    }
    b?.detach(id);
    a.post({ type: 'abort', id });
  };
}

/** Attaches `pass` to its workers and starts it on the tar stage (`inflate`: see ToWorker 'start'). */
function startPass(
  { id, held, a, b }: PassStages,
  pass: Pass,
  weight: number,
  spec: SinkSpec,
  budget: IndexBudget,
  inflate?: string,
): void {
  a.attach(id, pass, weight);
  b?.attach(id, pass, weight);
  a.post({
    type: 'start',
    id,
    spec,
    budget: { shared: budget.shared, maxBytes: budget.maxBytes, held },
    ...(b ? { verityPeer: b.key } : {}),
    ...(inflate ? { inflate } : {}),
  });
}

/**
 * A pass whose tar analysis runs on pooled worker threads: the tar stage on one, and with verity the
 * dm-verity stage on a second (the tar stage forwards each chunk to it), so the two hashes of every
 * byte (diff_id and the verity tree) use two cores. `highWater`: unacknowledged bytes before the
 * decoder is paused (memory bound).
 */
export function workerSink(
  spec: SinkSpec,
  budget: IndexBudget,
  highWater = WINDOW,
  /** Compressed size of the layer: how the pass loads its worker (WorkerPool.pick). */
  weight = 0,
): LayerSink & { readonly stages: { tar: number; verity: number | undefined } } {
  const stages = pickStages(spec, weight);
  const { id, a, b } = stages;
  let outstanding = 0;
  let failure: unknown;
  let pause: () => void = () => {};
  let resume: () => void = () => {};
  let onFailure: (err: unknown) => void = () => {};
  let waiters: Array<() => void> = [];
  /** The tar stage holds nothing for this pass any more (done, failed, released or dead). */
  let settled = false;
  let finished: { resolve: (r: SinkResult) => void; reject: (e: unknown) => void } | undefined;
  let result: SinkResult | undefined;
  let released: () => void = () => {};
  const releasedP = new Promise<void>((r) => (released = r));
  let closed = false;

  const wake = (): void => {
    const ws = waiters;
    waiters = [];
    for (const r of ws) r();
  };
  const fail = (err: unknown): void => {
    if (failure !== undefined) return;
    failure = err;
    wake();
    onFailure(err);
    finished?.reject(err);
  };
  const end = (): void => {
    if (settled) return;
    settled = true;
    a.detach(id);
    b?.detach(id);
    released();
  };

  const pass: Pass = {
    onMessage(m, from) {
      if (m.type === 'ack') {
        const wasFull = full();
        outstanding -= m.bytes;
        if (wasFull && !full()) {
          resume();
          wake();
        }
        return;
      }
      // Only the tar stage reports how the pass ended.
      if (from !== a) return;
      if (m.type === 'done') {
        result = m.result;
        finished?.resolve(m.result);
      } else if (m.type === 'error') {
        fail(fromWire(m.error));
      }
      end();
    },
    onCrash: onStageCrash(stages, budget, fail, end),
  };
  startPass(stages, pass, weight, spec, budget);

  const full = (): boolean => failure === undefined && outstanding > highWater;

  const outlet: Outlet = {
    push(chunk, owned) {
      if (failure !== undefined || closed || settled || chunk.length === 0) return;
      // Moved when the decoder is done with the memory; otherwise copied, since the decoder may write
      // its next output into the same buffer (and a caller's buffer must not be detached).
      let data: Uint8Array;
      if (owned) {
        data = chunk;
      } else {
        data = new Uint8Array(chunk.length);
        data.set(chunk);
      }
      outstanding += chunk.length;
      a.post({ type: 'chunk', id, data }, [data.buffer as ArrayBuffer]);
      if (full()) pause();
    },
    bind(p, r, f) {
      pause = p;
      resume = r;
      onFailure = f;
    },
    get failure() {
      return failure;
    },
    full,
    drained: () => (full() ? new Promise<void>((r) => waiters.push(r)) : Promise.resolve()),
    close() {
      closed = true;
      wake();
    },
  };

  return {
    outlet,
    stages: { tar: a.key, verity: b?.key },
    finish() {
      if (failure !== undefined) return Promise.reject(failure);
      if (result) return Promise.resolve(result);
      return new Promise<SinkResult>((resolve, reject) => {
        finished = { resolve, reject };
        a.post({ type: 'end', id });
      });
    },
    async release() {
      // The worker returns the index reservation before it reports done or an error; otherwise
      // tell it to stop and wait until it has.
      if (!settled) a.post({ type: 'abort', id });
      await releasedP;
    },
  };
}

/** Compressed bytes sent to an inflating pass and not yet consumed by its zlib, before `write` waits. */
export const INFLATE_WINDOW = 2 * 1024 * 1024;

/** Compressed bytes moved to an inflating pass at once (fewer, bigger messages cost less to post). */
export const INFLATE_BATCH = 1024 * 1024;

/**
 * Batch buffers the workers gave back once their zlib had consumed them (moved back with the 'ack'),
 * for any pass of the process. Reusing them saves the page faults of fresh memory: copying the
 * network's chunks into new 256 KiB buffers was the largest main-thread cost left in a cold
 * `generate`'s layer phase (~48 ms of ~210 ms busy, most of it the kernel zeroing pages).
 */
const freeBatches: ArrayBuffer[] = [];
const MAX_FREE_BATCHES = 8;

/** How many batch buffers were allocated and how many reused (tests). */
export const batchStats = { fresh: 0, reused: 0 };

/** A buffer of INFLATE_BATCH bytes this thread owns outright (it is moved to a worker when full). */
export function takeBatch(): Buffer {
  const b = freeBatches.pop();
  if (b) {
    batchStats.reused++;
    return Buffer.from(b);
  }
  batchStats.fresh++;
  return Buffer.allocUnsafeSlow(INFLATE_BATCH);
}

/** How an inflating pass ended on its worker: the compressed digest, and the result or the failure. */
export interface InflateOutcome {
  blobDigest: string;
  result?: SinkResult;
  failure?: Error;
}

/**
 * A gzip pass that runs entirely on the layer workers (inflate-stage.ts): this thread moves the
 * compressed bytes to the tar stage's worker, which digests and inflates them and walks the tar (and
 * with verity moves the decoded chunks on to the hashing stage on a second worker). Only the size
 * check and the reading stay here. `window`: compressed bytes unconsumed before `write` waits.
 */
export function workerInflatePass(
  spec: SinkSpec,
  budget: IndexBudget,
  blobAlg: string,
  window = INFLATE_WINDOW,
  /** Compressed size of the layer (see workerSink). */
  weight = 0,
): {
  /**
   * Moves `chunk` to the worker: the whole ArrayBuffer behind it is detached, so the caller must own
   * it (see layer.ts: the batches it fills) and never touch it again.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the input; resolves with the outcome, rejects only when the pass could not run (worker death). */
  finish(): Promise<InflateOutcome>;
  release(): Promise<void>;
  readonly stages: { tar: number; verity: number | undefined };
} {
  const stages = pickStages(spec, weight);
  const { id, a, b } = stages;
  let outstanding = 0;
  let failure: unknown;
  let waiter: (() => void) | undefined;
  let settled = false;
  let finished: { resolve: (r: InflateOutcome) => void; reject: (e: unknown) => void } | undefined;
  let outcome: InflateOutcome | undefined;
  let released: () => void = () => {};
  const releasedP = new Promise<void>((r) => (released = r));

  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const fail = (err: unknown): void => {
    if (failure !== undefined) return;
    failure = err;
    wake();
    finished?.reject(err);
  };
  const settle = (o: InflateOutcome): void => {
    outcome = o;
    finished?.resolve(o);
  };
  const end = (): void => {
    if (settled) return;
    settled = true;
    a.detach(id);
    b?.detach(id);
    wake();
    released();
  };
  const pass: Pass = {
    onMessage(m, from) {
      if (from !== a) return;
      if (m.type === 'ack') {
        outstanding -= m.bytes;
        if (m.buffer?.byteLength === INFLATE_BATCH && freeBatches.length < MAX_FREE_BATCHES)
          freeBatches.push(m.buffer);
        if (outstanding <= window) wake();
        return;
      }
      if (m.type === 'done') settle({ blobDigest: m.blobDigest ?? '', result: m.result });
      else if (m.type === 'error') {
        // With the digest, the error is about the content (reported only if the digest matches);
        // without, the pass could not run at all.
        if (m.blobDigest !== undefined) settle({ blobDigest: m.blobDigest, failure: fromWire(m.error) });
        else fail(fromWire(m.error));
      }
      end();
    },
    onCrash: onStageCrash(stages, budget, fail, end),
  };
  startPass(stages, pass, weight, spec, budget, blobAlg);

  return {
    stages: { tar: a.key, verity: b?.key },
    async write(chunk) {
      if (failure !== undefined) throw failure;
      if (settled || chunk.length === 0) return;
      outstanding += chunk.length;
      a.post({ type: 'cchunk', id, data: chunk }, [chunk.buffer as ArrayBuffer]);
      while (outstanding > window && failure === undefined && !settled)
        await new Promise<void>((r) => (waiter = r));
      if (failure !== undefined) throw failure;
    },
    finish() {
      if (failure !== undefined) return Promise.reject(failure);
      if (outcome) return Promise.resolve(outcome);
      return new Promise<InflateOutcome>((resolve, reject) => {
        finished = { resolve, reject };
        a.post({ type: 'end', id });
      });
    },
    async release() {
      if (!settled) a.post({ type: 'abort', id });
      await releasedP;
    },
  };
}
