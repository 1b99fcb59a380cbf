// The two ends of a layer pass meet here: what the tar side needs (SinkSpec), what it yields
// (SinkResult), and the outlet a decoder pushes into. Shared by layer.ts (in-thread) and
// layer-workers.ts (worker threads), which must not import each other both ways.
import type { TarLimits } from './tar.js';
import type { LayerUserFiles } from './users.js';

export interface SinkResult {
  diffId: string;
  verityRoot?: string;
  users: LayerUserFiles;
  /** Uncompressed bytes consumed. */
  bytes: number;
}

/** What a TarSink needs; plain data, so it can be posted to a worker thread as it is. */
export interface SinkSpec {
  diffId: string;
  verity: boolean;
  tarfs: { paxOwners?: boolean; maxEntries?: number };
  tarLimits: TarLimits;
  maxBytes: number;
}

/**
 * Where a decoder puts decompressed chunks. `push` never blocks and never throws; past its
 * high-water mark the outlet pauses the producer (the hooks given to `bind`) and resumes it when
 * consumption caught up. When consuming fails, `failure` is set and `onFailure` called.
 */
export interface Outlet {
  /**
   * `b` must stay unchanged until consumed (zlib never rewrites output it has emitted). `owned`: nothing
   * else uses the memory behind `b` any more, so it may be moved to another thread.
   */
  push(b: Uint8Array, owned?: boolean): void;
  bind(pause: () => void, resume: () => void, onFailure: (err: unknown) => void): void;
  readonly failure: unknown;
  /** True while more than the high-water mark is waiting to be consumed. */
  full(): boolean;
  /** Resolves once the outlet is no longer full (or has failed). */
  drained(): Promise<void>;
  /** Drops the backlog and accepts nothing more (the pass was aborted). */
  close(): void;
}

/** The consuming end of one pass: in this thread, or on a worker (layer-worker.ts). */
export interface LayerSink {
  readonly outlet: Outlet;
  /** Waits for every pushed chunk to be consumed and returns the tar's analysis. */
  finish(): Promise<SinkResult>;
  /** Returns the index's memory reservation; resolves once it has been returned. */
  release(): Promise<void>;
}
