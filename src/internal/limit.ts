// One counting semaphore for "at most n at once" (layer streams in the analyzer, blob transfers and
// images in `contrast mirror`). A finishing task hands its slot straight to the next waiter, so a
// caller arriving between the release and the waiter's resumption cannot take the slot as well.

/** Runs `fn` once fewer than `n` tasks of this limiter are running; resolves with its result. */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

export function limit(n: number): Limit {
  const max = Math.max(1, Math.floor(n));
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
