// The main thread's side of the layer worker threads (layer-worker.ts). One pass's decompressed
// chunks are posted to a worker, which hashes them (diff_id, dm-verity) and walks the tar (users,
// tarfs index) while this thread keeps reading the network, digesting the compressed bytes and
// dispatching the inflate to zlib's pool. Profile of one 165 MiB gzip layer (issue 15): the main
// thread carried ~2 s of CPU against ~1.6 s of inflate, so it was the critical path; with the tar
// analysis on a worker the pass is bounded by the inflate and several layers use every core.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ContrastError } from '../internal/errors.js';
import type { LayerSink, Outlet, SinkResult, SinkSpec } from './layer-sink.js';
import type { IndexBudget } from './tarfs.js';

/** Messages to a worker. Chunks are copied into a fresh ArrayBuffer and transferred (no second copy). */
export type ToWorker =
  | { type: 'start'; id: number; spec: SinkSpec; budget: { shared: SharedArrayBuffer; maxBytes: number } }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number };

/** An error as it crosses the thread boundary (ContrastError's fields, so the same error is rebuilt). */
export interface WireError {
  message: string;
  contrast: boolean;
  code?: string;
  hint?: string;
}

export type FromWorker =
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'done'; id: number; result: SinkResult }
  | { type: 'error'; id: number; error: WireError }
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
export function startWorker(): Worker {
  // A small young generation: the worker's own garbage is tiny (digests, header copies), and V8's
  // default sizing cost ~22 MiB of peak RSS (10 images sharing a base, whole CLI: 158-163 MiB with
  // 4 MiB against 184-185 MiB, same CPU, measured alternately in one session).
  const options = { resourceLimits: { maxYoungGenerationSizeMb: 4 } };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./layer-worker.js', import.meta.url), options);
  const script = new URL('./layer-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`,
    { eval: true, ...options },
  );
}

interface Pass {
  onMessage(m: FromWorker): void;
  onCrash(err: Error): void;
}

class PooledWorker {
  readonly worker: Worker;
  readonly passes = new Map<number, Pass>();
  dead = false;

  constructor(private readonly pool: WorkerPool) {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.passes.get(m.id)?.onMessage(m));
    const crash = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      this.pool.remove(this);
      const e = new ContrastError(`the layer analysis thread stopped: ${err.message}`, {
        code: 'LAYER_WORKER',
      });
      for (const p of [...this.passes.values()]) p.onCrash(e);
      this.passes.clear();
    };
    this.worker.on('error', crash);
    this.worker.on('exit', (code) => crash(new Error(`exit code ${code}`)));
  }

  attach(id: number, pass: Pass): void {
    if (this.passes.size === 0) this.worker.ref();
    this.passes.set(id, pass);
  }

  detach(id: number): void {
    this.passes.delete(id);
    // Idle workers must not keep the process alive.
    if (this.passes.size === 0) this.worker.unref();
  }
}

/** Workers shared by every pass in the process: one per core, each taking several passes. */
class WorkerPool {
  private readonly workers: PooledWorker[] = [];
  constructor(private readonly size: number) {}

  pick(): PooledWorker {
    let best: PooledWorker | undefined;
    for (const w of this.workers) if (!best || w.passes.size < best.passes.size) best = w;
    if (best && (best.passes.size === 0 || this.workers.length >= this.size)) return best;
    const w = new PooledWorker(this);
    this.workers.push(w);
    return w;
  }

  remove(w: PooledWorker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  /** Stops every worker (tests; the process exits without this since idle workers are unref'd). */
  async close(): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.worker.terminate()));
  }
}

// One core is left to the main thread and zlib's pool (the inflate); each worker is a V8 isolate
// (~10 MiB) plus the chunks in flight, so more workers than cores would only cost memory.
const pool = new WorkerPool(Math.max(1, availableParallelism() - 1));
let nextId = 1;

/** Stops the layer workers (tests use it to check a crash is reported). */
export function closeLayerWorkers(): Promise<void> {
  return pool.close();
}

/** A pass whose tar analysis runs on a pooled worker thread. */
export function workerSink(spec: SinkSpec, budget: IndexBudget, highWater = 4 * 1024 * 1024): LayerSink {
  const id = nextId++;
  const w = pool.pick();
  let outstanding = 0;
  let failure: unknown;
  let pause: () => void = () => {};
  let resume: () => void = () => {};
  let onFailure: (err: unknown) => void = () => {};
  let waiters: Array<() => void> = [];
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
    w.detach(id);
    released();
  };

  w.attach(id, {
    onMessage(m) {
      if (m.type === 'ack') {
        const wasFull = outstanding > highWater;
        outstanding -= m.bytes;
        if (wasFull && outstanding <= highWater) {
          resume();
          wake();
        }
      } else if (m.type === 'done') {
        result = m.result;
        finished?.resolve(m.result);
        end();
      } else if (m.type === 'error') {
        fail(fromWire(m.error));
        end();
      } else {
        end();
      }
    },
    onCrash(err) {
      fail(err);
      end();
    },
  });
  w.worker.postMessage({
    type: 'start',
    id,
    spec,
    budget: { shared: budget.shared, maxBytes: budget.maxBytes },
  } satisfies ToWorker);

  const outlet: Outlet = {
    push(b, owned) {
      if (failure !== undefined || closed || settled) return;
      // Moved when the decoder is done with it; otherwise copied, since the decoder may write its
      // next output into the same memory (and a caller's buffer must not be detached).
      let data: Uint8Array;
      if (owned) {
        data = b;
      } else {
        data = new Uint8Array(b.length);
        data.set(b);
      }
      outstanding += b.length;
      w.worker.postMessage({ type: 'chunk', id, data } satisfies ToWorker, [data.buffer as ArrayBuffer]);
      if (outstanding > highWater) pause();
    },
    bind(p, r, f) {
      pause = p;
      resume = r;
      onFailure = f;
    },
    get failure() {
      return failure;
    },
    full: () => failure === undefined && outstanding > highWater,
    drained: () =>
      failure === undefined && outstanding > highWater
        ? new Promise<void>((r) => waiters.push(r))
        : Promise.resolve(),
    close() {
      closed = true;
      wake();
    },
  };

  return {
    outlet,
    finish() {
      if (failure !== undefined) return Promise.reject(failure);
      if (result) return Promise.resolve(result);
      return new Promise<SinkResult>((resolve, reject) => {
        finished = { resolve, reject };
        w.worker.postMessage({ type: 'end', id } satisfies ToWorker);
      });
    },
    async release() {
      // The worker returns the index reservation before it reports done or an error; otherwise
      // tell it to stop and wait until it has.
      if (!settled) w.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
      await releasedP;
    },
  };
}
