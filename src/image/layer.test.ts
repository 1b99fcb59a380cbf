import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Descriptor } from '../registry/types.js';
import { analyzeLayerStream, type LayerPassOptions } from './layer.js';
import { INFLATE_BATCH, closeLayerWorkers } from './layer-workers.js';
import { createProgress } from './progress.js';
import { INDEX_BYTES_PER_NODE, IndexBudget, defaultIndexBudget } from './tarfs.js';
import { entry, pax, tar } from '../../test/fixtures/oci/tar.js';

const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const desc = (blob: Buffer, mediaType: string): Descriptor => ({
  mediaType,
  digest: sha(blob),
  size: blob.length,
});

/** Streams `b` in small irregular chunks, like a network body. */
function chunks(b: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0, n = 1; i < b.length; i += n, n = (n * 5 + 7) % 9000) parts.push(b.subarray(i, i + n));
  return Readable.from(parts);
}

const layer = tar(
  entry({ name: 'etc/', type: '5', mode: 0o755 }),
  entry({ name: 'etc/passwd' }, 'root:x:0:0::/:/bin/sh\n'),
  entry({ name: 'bin/big' }, randomBytes(300_000)),
);

test('gzip (multi-member), zstd (program and fzstd) and plain tar give the same analysis', async () => {
  const half = layer.length >> 1;
  const multi = Buffer.concat([gzipSync(layer.subarray(0, half)), gzipSync(layer.subarray(half))]);
  const results = [
    await analyzeLayerStream(chunks(multi), desc(multi, GZ), sha(layer), { verity: true }),
    await analyzeLayerStream(chunks(layer), desc(layer, TAR), sha(layer), { verity: true }),
  ];
  let hasZstd = true;
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
  } catch {
    hasZstd = false;
  }
  if (hasZstd) {
    const z = execFileSync('zstd', ['-q', '-c'], { input: layer });
    results.push(
      await analyzeLayerStream(chunks(z), desc(z, ZSTD), sha(layer), {
        verity: true,
        zstdDecoder: 'program',
      }),
    );
    results.push(
      await analyzeLayerStream(chunks(z), desc(z, ZSTD), sha(layer), { verity: true, zstdDecoder: 'fzstd' }),
    );
  }
  for (const r of results) {
    assert.equal(r.diffId, sha(layer));
    assert.equal(r.uncompressedSize, layer.length);
    assert.equal(r.verityRoot, results[0]!.verityRoot);
    assert.equal(r.users.passwd.content, 'root:x:0:0::/:/bin/sh\n');
  }
});

test('refusals: unknown media type, wrong size, tampered bytes, wrong diff_id', async () => {
  const gz = gzipSync(layer);
  await assert.rejects(
    analyzeLayerStream(chunks(gz), desc(gz, 'application/x-rar'), sha(layer)),
    /unsupported layer media type/,
  );
  await assert.rejects(
    analyzeLayerStream(chunks(gz), { ...desc(gz, GZ), size: gz.length - 1 }, sha(layer)),
    /larger than/,
  );
  await assert.rejects(
    analyzeLayerStream(chunks(gz), { ...desc(gz, GZ), size: gz.length + 1 }, sha(layer)),
    /has \d+ bytes/,
  );
  const tampered = Buffer.from(gz);
  tampered[100] = tampered[100]! ^ 1;
  // Same size, wrong bytes: reported as a digest mismatch, not as the decoding error it causes.
  await assert.rejects(
    analyzeLayerStream(chunks(tampered), desc(gz, GZ), sha(layer)),
    /content digest is sha256:.*tampered/,
  );
  await assert.rejects(
    analyzeLayerStream(chunks(gz), desc(gz, GZ), sha(Buffer.from('x'))),
    /diff_id .* but the image config says/,
  );
});

test('broken input: truncated gzip, truncated tar, garbage, decompression bomb, huge header', async () => {
  const gz = gzipSync(layer);
  const cut = gz.subarray(0, gz.length - 20);
  await assert.rejects(
    analyzeLayerStream(chunks(cut), desc(cut, GZ), sha(layer)),
    /cannot decompress \(gzip\)/,
  );
  const shortTar = gzipSync(layer.subarray(0, 2000));
  await assert.rejects(
    analyzeLayerStream(chunks(shortTar), desc(shortTar, GZ), sha(layer)),
    /truncated archive/,
  );
  const garbage = gzipSync(randomBytes(4096));
  await assert.rejects(
    analyzeLayerStream(chunks(garbage), desc(garbage, GZ), sha(layer)),
    /checksum mismatch/,
  );
  const bomb = gzipSync(Buffer.alloc(50 << 20));
  await assert.rejects(
    analyzeLayerStream(chunks(bomb), desc(bomb, GZ), sha(layer), { maxUncompressedSize: 10 << 20 }),
    /decompression bomb/,
  );
  const hugePax = Buffer.concat([
    tar(entry({ name: 'PaxHeaders/x', type: 'x' }, Buffer.alloc(2 << 20, 0x41))),
  ]);
  const hp = gzipSync(hugePax);
  await assert.rejects(
    analyzeLayerStream(chunks(hp), desc(hp, GZ), sha(hugePax)),
    /exceeds the 1048576-byte limit/,
  );
});

/**
 * Runs a pass in this thread, on the workers with the inflate dispatched from this thread, and on the
 * workers with the digest and inflate there too (gzip); all must end the same way (result or error).
 */
async function bothWays(
  blob: Buffer,
  d: Descriptor,
  diffId: string,
  options: LayerPassOptions = {},
): Promise<{ ok: unknown } | { err: { message: string; code: unknown; name: string } }> {
  const outcomes = [];
  const ways: LayerPassOptions[] = [{ worker: false }, { worker: true, inflateOn: 'main' }, { worker: true }];
  for (const way of ways) {
    try {
      outcomes.push({ ok: await analyzeLayerStream(chunks(blob), d, diffId, { ...options, ...way }) });
    } catch (e) {
      const err = e as Error & { code?: unknown };
      outcomes.push({ err: { message: err.message, code: err.code, name: err.constructor.name } });
    }
  }
  assert.deepEqual(outcomes[1], outcomes[0], 'worker and in-thread passes end the same way');
  assert.deepEqual(outcomes[2], outcomes[0], 'a pass inflating on the workers ends the same way');
  return outcomes[0]!;
}

test("a pass on the workers never moves the caller's memory: the network's chunks stay intact", async () => {
  const t = tar(
    entry({ name: 'etc/passwd' }, 'root:x:0:0::/:/bin/sh\n'),
    entry({ name: 'big' }, randomBytes(3 << 20)),
  );
  const gz = gzipSync(t);
  // What an HTTP client hands over: views of one larger buffer, and small pooled Buffers (which share
  // Node's 8 KiB allocation pool with unrelated data).
  const body = Buffer.from(gz);
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += 65_536) parts.push(body.subarray(i, i + 65_536));
  const pooled = Buffer.from(gz.subarray(0, 100));
  assert.equal(pooled.buffer.byteLength > pooled.length, true, 'a pooled Buffer');
  const source = [pooled, ...parts.map((p, i) => (i === 0 ? p.subarray(100) : p))];
  for (const verity of [false, true]) {
    const r = await analyzeLayerStream(Readable.from(source), desc(gz, GZ), sha(t), { worker: true, verity });
    assert.equal(r.diffId, sha(t));
    assert.equal(body.buffer.byteLength, body.length, 'the body buffer was detached (moved to a worker)');
    assert.ok(body.equals(gz), 'the body was changed');
    assert.ok(
      pooled.equals(gz.subarray(0, 100)) && pooled.buffer.byteLength > 0,
      'the pooled Buffer was moved',
    );
  }
});

test('worker thread and in-thread passes agree: random data and a real tar, gzip and plain, with verity', async () => {
  const real = execFileSync('tar', ['-C', import.meta.dirname, '--sort=name', '-cf', '-', '.']);
  const random = tar(
    ...Array.from({ length: 40 }, (_, i) =>
      entry({ name: `d${i % 3}/f${i}` }, randomBytes((i * 7919) % 200_000)),
    ),
  );
  for (const t of [real, random, layer]) {
    for (const blob of [gzipSync(t), t]) {
      const r = await bothWays(blob, desc(blob, blob === t ? TAR : GZ), sha(t), { verity: true });
      assert.ok('ok' in r);
      assert.equal((r.ok as { diffId: string }).diffId, sha(t));
    }
  }
});

test('sha512 blob digests and diff_ids are checked the same way in this thread and on the workers', async () => {
  const sha512 = (b: Buffer): string => `sha512:${createHash('sha512').update(b).digest('hex')}`;
  const gz = gzipSync(layer);
  const d: Descriptor = { mediaType: GZ, digest: sha512(gz), size: gz.length };
  const r = await bothWays(gz, d, sha512(layer), { verity: true });
  assert.ok('ok' in r);
  assert.equal((r.ok as { diffId: string }).diffId, sha512(layer));
  const tampered = Buffer.from(gz);
  tampered[200] = tampered[200]! ^ 1;
  const bad = await bothWays(tampered, d, sha512(layer));
  assert.ok('err' in bad);
  assert.match(bad.err.message, /content digest is sha512:[0-9a-f]{128}; refusing the tampered/);
});

test('errors raised on the workers (tar stage, or split with dm-verity) surface as the same clear error as in-thread', async () => {
  const gz = gzipSync(layer);
  const tampered = Buffer.from(gz);
  tampered[100] = tampered[100]! ^ 1;
  const shortTar = gzipSync(layer.subarray(0, 2000));
  const garbage = gzipSync(randomBytes(4096));
  const hugePax = tar(entry({ name: 'PaxHeaders/x', type: 'x' }, Buffer.alloc(2 << 20, 0x41)));
  const hp = gzipSync(hugePax);
  const cases: Array<[Buffer, Descriptor, string, LayerPassOptions, RegExp]> = [
    [tampered, desc(gz, GZ), sha(layer), {}, /content digest is sha256:.*tampered/],
    [gz, desc(gz, GZ), sha(Buffer.from('x')), {}, /diff_id .* but the image config says/],
    [shortTar, desc(shortTar, GZ), sha(layer), {}, /truncated archive/],
    [garbage, desc(garbage, GZ), sha(layer), {}, /checksum mismatch/],
    [hp, desc(hp, GZ), sha(hugePax), {}, /exceeds the 1048576-byte limit/],
    [gz, desc(gz, GZ), sha(layer), { maxUncompressedSize: 100_000 }, /decompression bomb/],
  ];
  // With verity the worker pass is split over two workers (tar stage, dm-verity stage).
  for (const [blob, d, diffId, options, re] of cases.flatMap((c) => [
    c,
    [...c.slice(0, 3), { ...c[3], verity: true }, c[4]] as typeof c,
  ])) {
    const r = await bothWays(blob, d, diffId, options);
    assert.ok('err' in r, `${re} expected`);
    assert.match(r.err.message, re);
    assert.match(r.err.message, /^layer sha256:[0-9a-f]{64}: /, 'the error names the layer');
    assert.equal(r.err.name, 'ContrastError');
  }
});

test('a download that breaks mid-pass on the workers fails with its own error; the pass lets go of its index reservation', async () => {
  const t = tar(
    entry({ name: 'etc/passwd' }, 'root:x:0:0::/:/bin/sh\n'),
    entry({ name: 'big' }, randomBytes(3 << 20)),
  );
  const gz = gzipSync(t);
  const budget = new IndexBudget(64 << 20);
  for (const verity of [false, true]) {
    const broken = (async function* () {
      for (let i = 0; i < gz.length; i += 65_536) {
        if (i >= 3 * INFLATE_BATCH) throw new Error('connection reset by peer');
        yield gz.subarray(i, i + 65_536);
      }
    })();
    await assert.rejects(
      analyzeLayerStream(broken, desc(gz, GZ), sha(t), { worker: true, verity, tarfs: { budget } }),
      /connection reset by peer/,
    );
    assert.equal(budget.inUse, 0);
  }
  const r = await analyzeLayerStream(chunks(gz), desc(gz, GZ), sha(t), { worker: true, verity: true });
  assert.equal(r.diffId, sha(t));
});

test('a worker that dies mid-pass fails the pass with a clear error; the next pass gets a new worker', async () => {
  const big = tar(entry({ name: 'big' }, randomBytes(3 << 20)));
  const gz = gzipSync(big);
  const slow = (async function* () {
    for (let i = 0; i < gz.length; i += 65536) {
      yield gz.subarray(i, i + 65536);
      if (i === 65536 * 4) await closeLayerWorkers();
    }
  })();
  await assert.rejects(analyzeLayerStream(slow, desc(gz, GZ), sha(big), { worker: true }), (err: Error) => {
    assert.match(err.message, /^layer sha256:[0-9a-f]{64}: the layer analysis thread stopped/);
    return true;
  });
  const r = await analyzeLayerStream(chunks(gz), desc(gz, GZ), sha(big), { worker: true });
  assert.equal(r.diffId, sha(big));
});

test('progress: bars go to the given TTY stream; plain mode writes summary lines; off writes nothing', () => {
  let written = '';
  const fake = {
    isTTY: true,
    columns: 100,
    write: (s: string) => ((written += s), true),
  } as unknown as NodeJS.WriteStream;
  const p = createProgress('tty', fake);
  const t = p.task('layer sha256:abc', 2048);
  t.update(1024);
  t.done();
  p.close();
  assert.match(written, /layer sha256:abc \[#+\] 2\.0 KiB\/2\.0 KiB done/);
  const off = createProgress('off', fake);
  written = '';
  off.task('x', 1).done();
  assert.equal(written, '');
});

// Issue 14 item 3: a few PAX headers with 1 MiB paths of `a/a/a/…` make a ~3 KB gzip layer whose
// tarfs index has 1.5 M nested directories (~1 GiB of heap before the byte budget existed).
function deepPaxLayer(roots: string[], depth: number, tail = Buffer.alloc(0)): Buffer {
  const parts = roots.map((r) =>
    Buffer.concat([
      pax({ path: `${r}/${'a/'.repeat(depth)}` }),
      entry({ name: 'placeholder', type: '5', mode: 0o755 }),
    ]),
  );
  return tar(...parts, ...(tail.length ? [entry({ name: 'pad' }, tail)] : []));
}

test('tarfs index memory: a tiny layer with a 1.5M-deep PAX tree fails cleanly, naming the layer', async () => {
  const t = deepPaxLayer(['x', 'y', 'z'], 500_000);
  const gz = gzipSync(t, { level: 9 });
  assert.ok(gz.length < 8192, `crafted layer is ${gz.length} bytes`);
  const d = desc(gz, GZ);
  await assert.rejects(analyzeLayerStream(chunks(gz), d, sha(t), { verity: true }), (err: Error) => {
    assert.equal((err as { code?: string }).code, 'LAYER_LIMIT');
    assert.match(err.message, new RegExp(`^layer ${d.digest}: tarfs index needs more than \\d+ MiB`));
    assert.match(err.message, /budget for all layers in flight is 512 MiB/);
    return true;
  });
  assert.equal(defaultIndexBudget.inUse, 0, 'the failed layer returned its reservation');
});

for (const worker of [false, true]) {
  test(`tarfs index memory: the byte budget is shared by the layers in flight and released after each (${worker ? 'worker threads' : 'one thread'})`, async () => {
    // Each layer alone needs ~3000 nodes; the budget fits one and a half.
    const budget = new IndexBudget(Math.round(3000 * INDEX_BYTES_PER_NODE * 1.5));
    // More than one batch of compressed bytes (a pass moves the network's bytes on in batches of
    // INFLATE_BATCH, the last when the blob ends), so layer p's headers reach its tar stage before the end.
    const tail = randomBytes(INFLATE_BATCH + 400_000);
    const layers = ['p', 'q'].map((r) => deepPaxLayer([r], 3000, tail));
    const gzs = layers.map((t) => gzipSync(t));
    const run = (i: number, source: AsyncIterable<Uint8Array> = chunks(gzs[i]!)): Promise<unknown> =>
      analyzeLayerStream(source, desc(gzs[i]!, GZ), sha(layers[i]!), {
        verity: true,
        tarfs: { budget },
        worker,
      });
    // Layer p holds its index (all but its last byte sent) until q has been refused.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const held = (async function* () {
      const gz = gzs[0]!;
      yield gz.subarray(0, gz.length - 1);
      await gate;
      yield gz.subarray(gz.length - 1);
    })();
    const p = run(0, held);
    for (let i = 0; budget.inUse < 3000 * INDEX_BYTES_PER_NODE; i++) {
      assert.ok(i < 3000, 'layer p never reserved its index');
      await new Promise((r) => setTimeout(r, 10));
    }
    await assert.rejects(run(1), (err: Error) => {
      assert.match(
        err.message,
        /^layer sha256:[0-9a-f]{64}: tarfs index needs more than \d+ MiB of memory \(\d+ MiB held by other layers being analysed\)/,
      );
      return true;
    });
    open();
    await p;
    assert.equal(budget.inUse, 0);
    // Alone, one after the other, both fit.
    for (const i of [0, 1]) await run(i);
    assert.equal(budget.inUse, 0);
  });
}
