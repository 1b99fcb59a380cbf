import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { RegistryClient } from '../registry/index.js';
import { ImageAnalyzer } from './analyzer.js';
import { saveCache } from './cache.js';
import { OutputGather, TarSink, gunzipDecoder } from './layer.js';
import type { Outlet, SinkResult, SinkSpec } from './layer-sink.js';
import { closeLayerWorkers, layerWorkerPool, warmLayerWorkers, workerSink } from './layer-workers.js';
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

const inThreadUsers = (): SinkResult['users'] => (inThread(layer, false) as SinkResult).users;

/** What the same bytes give in this thread. */
function inThread(t: Buffer, verity: boolean): unknown {
  const s = new TarSink(spec(t, verity));
  s.write(t);
  return s.finish();
}

/**
 * Feeds `t` into a worker pass with a window far smaller than the layer, in chunks of assorted sizes
 * (some larger than the window), all at once: the decoder is paused and resumed as the last stage
 * acknowledges, and every byte must arrive once and in order, the end after the last chunk.
 */
async function throughSmallWindow(
  t: Buffer,
  verity: boolean,
): Promise<{ result: unknown; pauses: number; resumes: number }> {
  const sink = workerSink(spec(t, verity), new IndexBudget(64 << 20), 8192);
  let pauses = 0;
  let resumes = 0;
  sink.outlet.bind(
    () => pauses++,
    () => resumes++,
    () => {},
  );
  for (let i = 0, n = 1; i < t.length; i += n, n = (n * 7 + 3001) % 20_000) {
    // Each chunk is a copy: the caller of push keeps no other use of it.
    sink.outlet.push(Buffer.from(t.subarray(i, i + n)));
  }
  assert.ok(sink.outlet.full(), 'far more than the ring was pushed: the outlet says it is full');
  await sink.outlet.drained();
  const result = await sink.finish();
  await sink.release();
  return { result, pauses, resumes };
}

for (const verity of [false, true]) {
  test(`worker window under backpressure: paused, resumed on the last stage's acks, every byte once and in order (${verity ? 'tar and dm-verity stages on two workers' : 'tar stage only'})`, async () => {
    const { result, pauses, resumes } = await throughSmallWindow(layer, verity);
    assert.ok(pauses > 0, 'the decoder was paused');
    assert.ok(resumes > 0, 'and resumed once the workers caught up');
    assert.deepEqual(result, inThread(layer, verity));
  });
}

test('with --verity a pass uses two workers: the dm-verity stage runs beside the tar stage', () => {
  warmLayerWorkers(true);
  assert.ok(layerWorkerPool.keys().length >= 2, `${layerWorkerPool.keys().length} workers`);
});

/**
 * A --verity pass on the workers (only those build a tarfs index) that has been fed the start of the
 * layer and whose tar stage has reserved index memory (it has seen headers).
 */
async function passHoldingIndex(budget: IndexBudget): Promise<ReturnType<typeof workerSink>> {
  const sink = workerSink(spec(layer, true), budget, 8192);
  sink.outlet.bind(
    () => {},
    () => {},
    () => {},
  );
  sink.outlet.push(Buffer.from(layer.subarray(0, 20_000)));
  for (let i = 0; budget.inUse === 0; i++) {
    assert.ok(i < 500, 'the tar stage never reserved index memory');
    await new Promise((r) => setTimeout(r, 10));
  }
  return sink;
}

test('a dm-verity stage that dies mid-pass fails the pass; the tar stage returns its index reservation', async () => {
  const budget = new IndexBudget(64 << 20);
  const sink = await passHoldingIndex(budget);
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
  const { result } = await throughSmallWindow(layer, true);
  assert.deepEqual(result, inThread(layer, true));
});

test('a tar stage that dies mid-pass fails the pass and its index reservation is returned', async () => {
  const budget = new IndexBudget(64 << 20);
  const sink = await passHoldingIndex(budget);
  // Another pass's reservation in the same budget stays where it is.
  budget.reserve(1000, 0);
  await layerWorkerPool.kill(sink.stages.tar);
  const outcome = await sink.finish().then(
    () => 'ok',
    (e: Error) => e.message,
  );
  await sink.release();
  assert.match(outcome, /the layer analysis thread stopped/);
  assert.equal(budget.inUse, 1000, "the dead stage's reservation was returned, no one else's");
  const { result } = await throughSmallWindow(layer, true);
  assert.deepEqual(result, inThread(layer, true));
});

test('inflate output goes to the workers a whole zlib buffer at a time, moved; partial buffers are copied', () => {
  const pushed: Array<{ offset: number; length: number; owned: boolean; same: boolean }> = [];
  const zbuf = new ArrayBuffer(1024);
  const outlet: Outlet = {
    push: (b, owned) =>
      pushed.push({ offset: b.byteOffset, length: b.length, owned: owned ?? false, same: b.buffer === zbuf }),
    bind: () => {},
    failure: undefined,
    full: () => false,
    drained: () => Promise.resolve(),
    close: () => {},
  };
  const g = new OutputGather(outlet, 1024);
  // zlib's slices of one buffer, contiguous from 0 to its end: one owned push of the whole buffer.
  g.add(new Uint8Array(zbuf, 0, 300));
  g.add(new Uint8Array(zbuf, 300, 500));
  assert.equal(pushed.length, 0, 'nothing is pushed before the buffer is full');
  g.add(new Uint8Array(zbuf, 800, 224));
  assert.deepEqual(pushed, [{ offset: 0, length: 1024, owned: true, same: true }]);
  // A partial buffer at a flush (zlib idle, or the end) is pushed but not owned (it is copied).
  const next = new ArrayBuffer(1024);
  g.add(new Uint8Array(next, 0, 100));
  g.flush();
  assert.deepEqual(pushed[1], { offset: 0, length: 100, owned: false, same: false });
  // The rest of that buffer no longer starts at 0: not owned either.
  g.add(new Uint8Array(next, 100, 924));
  assert.deepEqual(pushed[2], { offset: 100, length: 924, owned: false, same: false });
  // Output of another size is passed through as it is.
  g.add(new Uint8Array(new ArrayBuffer(10)));
  assert.equal(pushed.length, 4);
  assert.equal(pushed[3]!.owned, false);
});

test('gzip decoder: a write returns while zlib still has the input queued (the pool never waits for the next batch)', async () => {
  let received = 0;
  const outlet: Outlet = {
    push: (b) => void (received += b.length),
    bind: () => {},
    failure: undefined,
    full: () => false,
    drained: () => Promise.resolve(),
    close: () => {},
  };
  const d = gunzipDecoder(outlet);
  const t = randomBytes(600_000);
  await d.write(gzipSync(t));
  // Waiting for 'drain' (the old way) returned only after the batch was inflated and handed over.
  assert.equal(received, 0, 'write returned before zlib produced output');
  await d.end();
  assert.equal(received, t.length);
});

test('a run with no layer cache starts the layer workers before its registry round trips; a warm cache starts none', async () => {
  await closeLayerWorkers();
  const dir = mkdtempSync(join(tmpdir(), 'contrast-warm-'));
  try {
    const client = new RegistryClient({ insecureRegistries: ['http://127.0.0.1:9'], maxRetries: 0 });
    // A cache with an entry: nothing is started for a run that may need no layer at all.
    const cachePath = join(dir, 'layers-cache.json');
    await saveCache(
      cachePath,
      [{ diffId: sha(layer), uncompressedSize: layer.length, users: inThreadUsers() }],
      [],
    );
    const warm = new ImageAnalyzer({ client, cachePath, verity: true, progress: 'off' });
    await assert.rejects(warm.analyze('127.0.0.1:9/nothing/here:tag'));
    assert.equal(layerWorkerPool.keys().length, 0, 'a warm run started workers');
    // No cache: every layer will be streamed, so both workers start at once (port 9 refuses the
    // connection, so no layer was ever requested).
    const cold = new ImageAnalyzer({ client, cachePath: null, verity: true, progress: 'off' });
    await assert.rejects(cold.analyze('127.0.0.1:9/nothing/here:tag'));
    assert.equal(layerWorkerPool.keys().length, 2);
    await client.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('workers started ahead of their first pass do not keep the process alive', () => {
  const ts = import.meta.url.endsWith('.ts');
  const mod = new URL(ts ? './layer-workers.ts' : './layer-workers.js', import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [
      ...(ts ? ['--import', 'tsx'] : []),
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(mod)}); m.warmLayerWorkers(true); console.log('warmed');`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.signal, null, 'the process did not exit by itself (killed after 30 s)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /warmed/);
});
