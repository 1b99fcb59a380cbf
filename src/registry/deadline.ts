// Overall deadlines, on top of undici's idle timeouts: a server that trickles a byte now and then never
// trips an idle timeout, and retries multiply the wait. A blob gets a budget from its size and a
// minimum throughput; a manifest or config request gets a fixed total. The deadline aborts the
// request through an AbortSignal, whichever phase it is in (connecting, headers, body, resumes).
import { ContrastError } from '../internal/errors.js';

export interface Deadlines {
  /** Slowest acceptable blob download, bytes per second (averaged over the whole blob). */
  minBlobBytesPerSecond: number;
  /** Allowance every blob gets on top of size / throughput (connection setup, auth, a slow start). */
  blobBaseMs: number;
  /** Total time for one manifest or config request, from the first byte sent to the last received. */
  requestMs: number;
}

export const defaultDeadlines: Deadlines = {
  minBlobBytesPerSecond: 256 * 1024,
  blobBaseMs: 120_000,
  requestMs: 120_000,
};

/** The time a blob of `size` bytes may take. */
export function blobBudgetMs(size: number, d: Deadlines): number {
  return d.blobBaseMs + Math.ceil((Math.max(0, size) / d.minBlobBytesPerSecond) * 1000);
}

/** An AbortSignal that fires after `ms` with the error `onExpiry` builds. Call `stop` when done. */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly ms: number,
    onExpiry: () => ContrastError,
  ) {
    this.timer = setTimeout(() => this.controller.abort(onExpiry()), ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
