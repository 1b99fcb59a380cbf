import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limit } from './limit.js';

/** Starts a task through `run` on every microtask tick for `ticks` ticks; returns the peak concurrency. */
async function peak(run: ReturnType<typeof limit>, ticks: number): Promise<number> {
  let running = 0;
  let max = 0;
  const all: Promise<void>[] = [];
  const task = async (): Promise<void> => {
    running++;
    max = Math.max(max, running);
    for (let i = 0; i < 3; i++) await null;
    running--;
  };
  const pump = (k: number): void => {
    if (k === 0) return;
    all.push(run(task));
    queueMicrotask(() => pump(k - 1));
  };
  pump(ticks);
  // pump() keeps adding while earlier tasks run: wait until it stopped, then for everything.
  await new Promise((r) => setImmediate(r));
  await Promise.all(all);
  return max;
}

test('never more than n at once, even with callers arriving on every tick between a release and the next start', async () => {
  // A caller arriving after a task released its slot but before the woken waiter resumed used to
  // take the slot too (3 running with n = 2).
  assert.equal(await peak(limit(2), 200), 2);
  assert.equal(await peak(limit(1), 200), 1);
});

test('runs in arrival order and passes results and errors through', async () => {
  const run = limit(1);
  const order: number[] = [];
  const results = await Promise.allSettled(
    [1, 2, 3].map((i) =>
      run(async () => {
        order.push(i);
        if (i === 2) throw new Error('two');
        return i * 10;
      }),
    ),
  );
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [10, 'two', 30],
  );
});

test('n below 1 still lets one task run', async () => {
  assert.equal(await limit(0)(async () => 'ran'), 'ran');
});
