import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { RegistryClient } from '../registry/index.js';
import { ImageAnalyzer } from './analyzer.js';
import { saveCache } from './cache.js';
import { OutputGather, TarSink, gunzipDecoder } from './layer.js';
import type { Outlet, SinkResult, SinkSpec } from './layer-sink.js';
import {
  INFLATE_BATCH,
  SHARED_BYTES,
  batchStats,
  closeLayerWorkers,
  layerWorkerPool,
  takeBatch,
  warmLayerWorkers,
  workerInflatePass,
  workerSink,
} from './layer-workers.js';
import { defaultTarLimits } from './tar.js';
import { IndexBudget } from './tarfs.js';
import { StageOutlet, moveOnConsumer } from './inflate-stage.js';
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

/** Copies `b` into memory of its own (what the main thread moves to a worker must be its own). */
const owned = (b: Buffer): Uint8Array => new Uint8Array(b);

test('a gzip pass inflating on a tar stage that dies mid-pass fails with a clear error; its index reservation is returned', async () => {
  const budget = new IndexBudget(64 << 20);
  budget.reserve(1000, 0);
  const gz = gzipSync(layer);
  const pass = workerInflatePass(spec(layer, true), budget, 'sha256');
  await pass.write(owned(gz.subarray(0, 40_000)));
  for (let i = 0; budget.inUse === 1000; i++) {
    assert.ok(i < 500, 'the tar stage never reserved index memory');
    await new Promise((r) => setTimeout(r, 10));
  }
  await layerWorkerPool.kill(pass.stages.tar);
  const outcome = await pass.finish().then(
    () => 'ok',
    (e: Error) => e.message,
  );
  await pass.release();
  assert.match(outcome, /the layer analysis thread stopped/);
  assert.equal(budget.inUse, 1000, "the dead stage's reservation was returned, no one else's");
});

for (const verity of [false, true]) {
  test(`a gzip pass inflating on the workers: digest of the compressed bytes, same result as in-thread, a decoding failure reported with the digest (${verity ? 'with' : 'without'} dm-verity)`, async () => {
    const gz = gzipSync(layer);
    const run = async (blob: Buffer, step: number) => {
      const pass = workerInflatePass(spec(layer, verity), new IndexBudget(64 << 20), 'sha256', 8192);
      for (let i = 0; i < blob.length; i += step) await pass.write(owned(blob.subarray(i, i + step)));
      const o = await pass.finish();
      await pass.release();
      return o;
    };
    // Batches larger and smaller than the window.
    for (const step of [3000, 100_000]) {
      const o = await run(gz, step);
      assert.equal(o.blobDigest, sha(gz));
      assert.equal(o.failure, undefined);
      assert.deepEqual(o.result, inThread(layer, verity));
    }
    // A corrupt stream: the worker keeps digesting past the failure, so the caller can prefer the digest
    // verdict; the failure itself comes with it.
    const bad = Buffer.concat([gz.subarray(0, 20), randomBytes(gz.length - 20)]);
    const o = await run(bad, 5000);
    assert.equal(o.blobDigest, sha(bad));
    assert.ok(o.failure instanceof Error, 'the decoding failure is reported');
    assert.equal(o.result, undefined);
  });
}

test('an inflating pass counts the chunks it moved to the hashing stage until acknowledged: past its window the inflate stays paused', () => {
  const { port1, port2 } = new MessageChannel();
  let pauses = 0;
  let resumes = 0;
  const outlet = new StageOutlet(moveOnConsumer(1, { write: () => {} }, port1), 4 << 20);
  outlet.bind(
    () => pauses++,
    () => resumes++,
    () => {},
  );
  for (let i = 0; i < 6; i++) outlet.push(new Uint8Array(1 << 20), i % 2 === 0);
  assert.equal(pauses, 1, 'paused once more than the window waited');
  // The tar stage consumed everything; the 6 MiB moved on are not acknowledged yet.
  outlet.drain();
  assert.ok(outlet.full(), 'the moved bytes still count');
  assert.equal(resumes, 0);
  outlet.acked(3 << 20);
  assert.equal(resumes, 1, 'resumed once the hashing stage caught up');
  port1.close();
  port2.close();
});

test('passes share one worker up to SHARED_BYTES of compressed input in flight; past that a second one starts', async () => {
  await closeLayerWorkers();
  const budget = new IndexBudget(64 << 20);
  const MiB = 1 << 20;
  const passes = [
    workerSink(spec(layer, false), budget, undefined, 20 * MiB),
    workerInflatePass(spec(layer, false), budget, 'sha256', undefined, 20 * MiB),
    workerSink(spec(layer, false), budget, undefined, SHARED_BYTES - 40 * MiB),
  ];
  assert.deepEqual(
    new Set(passes.map((p) => p.stages.tar)).size,
    1,
    'small passes (a cold generate: 17 layers, 64 MiB) keep one worker busy instead of starting more',
  );
  const more = workerSink(spec(layer, false), budget, undefined, 1);
  assert.notEqual(more.stages.tar, passes[0]!.stages.tar, 'more work in flight starts the second worker');
  for (const p of [...passes, more]) await p.release();
  assert.equal(budget.inUse, 0);
});

test('batch buffers moved to an inflating worker come back with its acknowledgement and are reused', async () => {
  const big = tar(entry({ name: 'big' }, randomBytes(6 * INFLATE_BATCH)));
  const gz = gzipSync(big, { level: 1 });
  const before = { ...batchStats };
  const pass = workerInflatePass(spec(big, false), new IndexBudget(64 << 20), 'sha256');
  for (let i = 0; i < gz.length; i += INFLATE_BATCH) {
    const batch = takeBatch();
    const n = gz.copy(batch, 0, i, i + INFLATE_BATCH);
    await pass.write(batch.subarray(0, n));
    assert.equal(batch.buffer.byteLength, 0, 'the batch was moved, not copied');
  }
  const o = await pass.finish();
  await pass.release();
  assert.equal(o.blobDigest, sha(gz));
  assert.equal(o.result?.diffId, sha(big));
  assert.ok(batchStats.reused > before.reused, `no batch buffer was reused (${JSON.stringify(batchStats)})`);
  assert.ok(
    batchStats.fresh - before.fresh < Math.ceil(gz.length / INFLATE_BATCH),
    'fewer buffers were allocated than batches were sent',
  );
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
    // generate resolves every image (manifests, configs) before it analyses any: the workers start at
    // the first resolve, so their start-up overlaps those round trips (one without --verity).
    await closeLayerWorkers();
    const resolving = new ImageAnalyzer({ client, cachePath: null, verity: false, progress: 'off' });
    await assert.rejects(resolving.resolve('127.0.0.1:9/nothing/here:tag'));
    assert.equal(layerWorkerPool.keys().length, 1);
    await client.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Runs `code` (an ES module that may `await import(src(name))` this directory's modules) in a child
 * process. A script file, not `-e`: workers inherit the process's options, and `--input-type` stops
 * them.
 */
function runChild(t: TestContext, code: (src: (name: string) => string) => string) {
  const ts = import.meta.url.endsWith('.ts');
  const src = (name: string): string =>
    JSON.stringify(new URL(`${name}.${ts ? 'ts' : 'js'}`, import.meta.url).href);
  const dir = mkdtempSync(join(tmpdir(), 'layer-workers-child-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'child.mjs');
  writeFileSync(script, code(src));
  return spawnSync(process.execPath, [...(ts ? ['--import', 'tsx'] : []), script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** Script lines: wait (up to 30 s) until the pool `w` has no worker loading. */
const untilLoaded = (w: string): string =>
  `for (let i = 0; i < 600 && ${w}.layerWorkerPool.loading() > 0; i++) await new Promise((r) => setTimeout(r, 50));`;

test('workers started ahead of their first pass do not keep the process alive', (t) => {
  const r = runChild(
    t,
    (src) => `const m = await import(${src('./layer-workers')});
     m.warmLayerWorkers(true);
     ${untilLoaded('m')}
     console.log('warmed', m.layerWorkerPool.keys().length);`,
  );
  assert.equal(r.signal, null, 'the process did not exit by itself (killed after 60 s)');
  assert.equal(r.status, 0, r.stderr);
  // Both workers loaded and alive when the script ended.
  assert.match(r.stdout, /warmed 2/);
});

test("the CLI's raised tier-up budgets are back once every worker started has loaded; a library caller's stay the defaults", (t) => {
  if (!process.versions.v8.startsWith('11.3.')) {
    t.skip(`only Node 20's V8 (11.3) has its budget raised; this is V8 ${process.versions.v8}`);
    return;
  }
  const run = (cli: boolean, keepFlags = false): string[] => {
    const r = runChild(
      t,
      (src) => `const w = await import(${src('./layer-workers')});
       const b = await import(${src('../internal/tiering')});
       ${cli ? 'b.raiseTierUpBudget();' : ''}
       const budgets = () => b.tierUpBudget() + '/' + b.wasmTieringBudget();
       const seen = [budgets()];
       w.warmLayerWorkers(${!keepFlags}, ${keepFlags});
       seen.push(budgets(), w.layerWorkerPool.loading());
       ${untilLoaded('w')}
       seen.push(w.layerWorkerPool.loading(), budgets(), w.layerWorkerPool.keys().length);
       console.log(seen.join(' '));`,
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split(' ');
  };
  // Raised (both V8's interrupt budget and its WebAssembly tiering budget); the defaults while two
  // workers start; raised again once both have loaded.
  const raised = '540672/2000000000';
  const defaults = '67584/1800000';
  assert.deepEqual(run(true), [raised, defaults, '2', '0', raised, '2']);
  assert.deepEqual(run(false), [defaults, defaults, '2', '0', defaults, '2']);
  // A worker started early, while the CLI's own work runs (generate): the raised budgets throughout.
  assert.deepEqual(run(true, true), [raised, raised, '1', '0', raised, '1']);
});
