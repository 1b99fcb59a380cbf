import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { TarSink } from './layer.js';
import type { SinkSpec } from './layer-sink.js';
import { layerWorkerPool, warmLayerWorkers, workerSink } from './layer-workers.js';
import { defaultTarLimits } from './tar.js';
import { IndexBudget } from './tarfs.js';
import { entry, tar } from '../../test/fixtures/oci/tar.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const spec = (t: Buffer, verity: boolean): SinkSpec => ({
  diffId: sha(t),
  verity,
  tarfs: {},
  tarLimits: defaultTarLimits,
  maxBytes: 1 << 30,
});

const layer = tar(
  entry({ name: 'etc/passwd' }, 'root:x:0:0::/:/bin/sh\n'),
  ...Array.from({ length: 30 }, (_, i) => entry({ name: `d/f${i}` }, randomBytes((i * 7919) % 50_000))),
);

/** What the same bytes give in this thread. */
function inThread(t: Buffer, verity: boolean): unknown {
  const s = new TarSink(spec(t, verity));
  s.write(t);
  return s.finish();
}

/**
 * Feeds `t` into a worker pass through a ring far smaller than the layer, in chunks of assorted sizes
 * (some larger than the ring), all at once: the decoder is paused, chunks wait for room, wrap around
 * the ring's end, and the end must not overtake the chunks still waiting.
 */
async function throughSmallRing(t: Buffer, verity: boolean): Promise<{ result: unknown; pauses: number }> {
  const sink = workerSink(spec(t, verity), new IndexBudget(64 << 20), 8192, 4096);
  let pauses = 0;
  let paused = false;
  sink.outlet.bind(
    () => {
      if (!paused) pauses++;
      paused = true;
    },
    () => (paused = false),
    () => {},
  );
  for (let i = 0, n = 1; i < t.length; i += n, n = (n * 7 + 3001) % 20_000) {
    // Each chunk is a copy: the caller of push keeps no other use of it.
    sink.outlet.push(Buffer.from(t.subarray(i, i + n)));
  }
  assert.ok(sink.outlet.full(), 'far more than the ring was pushed: the outlet says it is full');
  const result = await sink.finish();
  await sink.release();
  return { result, pauses };
}

for (const verity of [false, true]) {
  test(`worker ring under backpressure: every byte arrives once and in order (${verity ? 'tar and dm-verity stages on two workers' : 'tar stage only'})`, async () => {
    const { result, pauses } = await throughSmallRing(layer, verity);
    assert.ok(pauses > 0, 'the decoder was paused');
    assert.deepEqual(result, inThread(layer, verity));
  });
}

test('with --verity a pass uses two workers: the dm-verity stage runs beside the tar stage', () => {
  warmLayerWorkers(true);
  assert.ok(layerWorkerPool.keys().length >= 2, `${layerWorkerPool.keys().length} workers`);
});

test('a dm-verity stage that dies mid-pass fails the pass; the tar stage returns its index reservation', async () => {
  const budget = new IndexBudget(64 << 20);
  const sink = workerSink(spec(layer, true), budget, 8192, 4096);
  sink.outlet.bind(
    () => {},
    () => {},
    () => {},
  );
  sink.outlet.push(Buffer.from(layer.subarray(0, 20_000)));
  // Wait until the tar stage has reserved index memory (it has seen headers).
  for (let i = 0; budget.inUse === 0; i++) {
    assert.ok(i < 500, 'the tar stage never reserved index memory');
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.notEqual(sink.stages.verity, undefined, 'the dm-verity stage runs on its own worker');
  assert.notEqual(sink.stages.verity, sink.stages.tar);
  await layerWorkerPool.kill(sink.stages.verity!);
  const outcome = await sink.finish().then(
    () => 'ok',
    (e: Error) => e.message,
  );
  await sink.release();
  assert.match(outcome, /the layer analysis thread stopped|dm-verity thread stopped/);
  assert.equal(budget.inUse, 0, 'the index reservation was returned');
  // The next pass gets a working pair again.
  const { result } = await throughSmallRing(layer, true);
  assert.deepEqual(result, inThread(layer, true));
});
