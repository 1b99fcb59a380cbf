// End to end against the registry lab: real registry, real skopeo-pushed images, real HTTP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setLogSink } from '../internal/log.js';
import { RegistryClient } from '../registry/index.js';
import { requireLab, seed } from '../../test/helpers/lab.js';
import { runCli } from '../../test/helpers/cli.js';
import { ImageAnalyzer } from './index.js';
import { pushTestImage } from '../../test/fixtures/oci/push.js';
import { entry, tar } from '../../test/fixtures/oci/tar.js';
import { verityRoot } from './verity.js';
import { buildIndex } from '../../test/helpers/tarfs-decoder.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\nextra:x:4000:app\napp:x:1000:\n';

function client(host: string): RegistryClient {
  return new RegistryClient({ insecureRegistries: [`http://${host}`], maxRetries: 0 });
}

function captureWarnings(t: TestContext): string[] {
  const lines: string[] = [];
  const prev = setLogSink({ write: (l) => void lines.push(l) });
  t.after(() => setLogSink(prev));
  return lines;
}

function hasZstd(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('lab image: user, diff_ids and verity roots equal to veritysetup over tar ‖ index', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const c = client(lab.a);
  t.after(() => c.close());
  const analyzer = new ImageAnalyzer({ client: c, cachePath: null, verity: true, progress: 'off' });
  const img = await analyzer.analyze(`${lab.a}/test/app:v1`);
  assert.equal(img.digest, seed.appV1);
  assert.deepEqual(img.user, { uid: 1000, gid: 1000, additionalGids: [], username: 'app' });
  assert.deepEqual(
    img.layerAnalysis.map((l) => l.diffId),
    img.config.rootfs.diff_ids,
  );
  // Independent check of each root: fetch the blob with curl, gunzip, append our index, veritysetup.
  const dir = mkdtempSync(join(tmpdir(), 'analyze-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const l of img.layerAnalysis) {
    const gz: Buffer = execFileSync('curl', ['-sf', `http://${lab.a}/v2/test/app/blobs/${l.digest}`], {
      maxBuffer: 1 << 26,
    });
    const tarBytes: Buffer = execFileSync('gzip', ['-dc'], { input: gz, maxBuffer: 1 << 26 });
    assert.equal(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`, l.diffId);
    const data = Buffer.concat([tarBytes, buildIndex(tarBytes)]);
    writeFileSync(join(dir, 'data'), data);
    rmSync(join(dir, 'hash'), { force: true });
    const out = execFileSync(
      'veritysetup',
      ['format', '--no-superblock', `--salt=${'0'.repeat(64)}`, join(dir, 'data'), join(dir, 'hash')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(l.verityRoot, /Root hash:\s+([0-9a-f]{64})/.exec(out)![1]);
    assert.equal(l.verityRoot, verityRoot(data));
  }
});

test('multi-layer image: a later layer whites out /etc/passwd; zstd and plain tar layers', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const zstd = hasZstd();
  const base = tar(
    entry({ name: 'etc/', type: '5', mode: 0o755 }),
    entry({ name: 'etc/passwd' }, PASSWD),
    entry({ name: 'etc/group' }, GROUP),
  );
  const whiteout = tar(entry({ name: 'etc/.wh.passwd' }));
  const other = tar(
    entry({ name: 'srv/', type: '5', mode: 0o755 }),
    entry({ name: 'srv/data' }, 'x'.repeat(10000)),
  );
  const target = `${lab.a}/image-engine/whiteout:v1`;
  pushTestImage(
    target,
    [
      { tar: base, compression: 'gzip' },
      { tar: whiteout, compression: 'none' },
      { tar: other, compression: zstd ? 'zstd' : 'gzip' },
    ],
    'app',
  );
  const warnings = captureWarnings(t);
  const c = client(lab.a);
  t.after(() => c.close());
  const img = await new ImageAnalyzer({ client: c, cachePath: null, progress: 'off' }).analyze(target);
  assert.equal(img.passwd, '');
  assert.equal(img.group, GROUP);
  assert.deepEqual(img.user, { uid: 0, gid: 0, additionalGids: [], username: '' });
  assert.ok(
    warnings.some((w) => /USER "app"/.test(w)),
    warnings.join(''),
  );
  assert.equal(img.layerAnalysis[2]!.uncompressedSize, other.length);

  // Without the whiteout layer the user resolves.
  const target2 = `${lab.a}/image-engine/whiteout:v2`;
  pushTestImage(
    target2,
    [
      { tar: base, compression: 'gzip' },
      { tar: other, compression: zstd ? 'zstd' : 'none' },
    ],
    'app',
  );
  const img2 = await new ImageAnalyzer({
    client: c,
    cachePath: null,
    progress: 'off',
    zstdDecoder: 'fzstd',
  }).analyze(target2);
  assert.deepEqual(img2.user, { uid: 1000, gid: 1000, additionalGids: [4000], username: 'app' });
});

test('a config whose diff_id does not match the layer is refused', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const layer = tar(entry({ name: 'f' }, 'content'));
  const target = `${lab.a}/image-engine/baddiff:v1`;
  pushTestImage(target, [{ tar: layer, compression: 'gzip', diffId: `sha256:${'ab'.repeat(32)}` }]);
  const c = client(lab.a);
  t.after(() => c.close());
  await assert.rejects(
    new ImageAnalyzer({ client: c, cachePath: null, progress: 'off' }).analyze(target),
    (err: Error) => {
      assert.match(err.message, /diff_id sha256:[0-9a-f]{64}, but the image config says sha256:abab/);
      return true;
    },
  );
});

/** Proxies registry a, replacing one byte of every layer blob (same size, wrong bytes). */
async function tamperingProxy(upstream: string, digest: string): Promise<Server> {
  const [host, port] = upstream.split(':');
  const server = createServer((req, res) => {
    const up = request(
      { host, port: Number(port), path: req.url, method: req.method, headers: req.headers },
      (r) => {
        const tamper = req.url?.endsWith(`/blobs/${digest}`) && r.statusCode === 200;
        res.writeHead(r.statusCode ?? 502, r.headers);
        if (!tamper) return void r.pipe(res);
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const body = Buffer.concat(chunks);
          const mid = body.length >> 1;
          body[mid] = body[mid]! ^ 0xff;
          res.end(body);
        });
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

test('a tampered blob (right size, wrong bytes) is refused', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const layer = tar(entry({ name: 'f' }, 'y'.repeat(5000)));
  const target = `image-engine/tamper:v1`;
  const { blobs } = pushTestImage(`${lab.a}/${target}`, [{ tar: layer, compression: 'gzip' }]);
  const proxy = await tamperingProxy(lab.a, blobs[0]!);
  t.after(() => proxy.close());
  const host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const c = client(host);
  t.after(() => c.close());
  await assert.rejects(
    new ImageAnalyzer({ client: c, cachePath: null, progress: 'off' }).analyze(`${host}/${target}`),
    /digest/,
  );
});

test('layer cache: hits skip downloads, corrupt files are reported and rebuilt, null disables it', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = mkdtempSync(join(tmpdir(), 'cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cachePath = join(dir, 'layers-cache.json');
  const c = client(lab.a);
  t.after(() => c.close());
  const ref = `${lab.a}/test/app:v1`;
  const first = new ImageAnalyzer({ client: c, cachePath, verity: true, progress: 'off' });
  const a = await first.analyze(ref);
  assert.equal(first.fetchedLayers, 2);
  const cached = JSON.parse(readFileSync(cachePath, 'utf8')) as Array<Record<string, unknown>>;
  assert.ok(
    cached.some(
      (e) =>
        e['diff_id'] === a.layerAnalysis[0]!.diffId &&
        typeof e['passwd'] === 'string' &&
        e['verity_hash'] === a.layerAnalysis[0]!.verityRoot,
    ),
  );
  assert.ok(cached.some((e) => typeof e['image_ref'] === 'string'));

  const written = statSync(cachePath);
  const second = new ImageAnalyzer({ client: c, cachePath, verity: true, progress: 'off' });
  const b = await second.analyze(ref);
  assert.equal(second.fetchedLayers, 0);
  // Nothing new: the file is left alone (a rewrite is a new inode, through the temp file's rename).
  assert.equal(statSync(cachePath).ino, written.ino);
  assert.equal(existsSync(`${cachePath}.lock`), false);
  assert.deepEqual(b.layerAnalysis, a.layerAnalysis);
  assert.deepEqual(b.user, a.user);

  writeFileSync(cachePath, '[{"diff_id": "sha256:12", "passwd": ');
  const warnings = captureWarnings(t);
  const third = new ImageAnalyzer({ client: c, cachePath, progress: 'off' });
  await third.analyze(ref);
  assert.equal(third.fetchedLayers, 2);
  assert.ok(
    warnings.some((w) => /layer cache .*not valid JSON.*rebuilding/.test(w)),
    warnings.join(''),
  );
  assert.doesNotThrow(() => JSON.parse(readFileSync(cachePath, 'utf8')));

  const none = new ImageAnalyzer({ client: c, cachePath: null, progress: 'off' });
  await none.analyze(ref);
  assert.equal(none.fetchedLayers, 2);
});

test('shared layers are fetched once across images', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const c = client(lab.a);
  t.after(() => c.close());
  const analyzer = new ImageAnalyzer({ client: c, cachePath: null, progress: 'off' });
  const res = await analyzer.analyzeMany([
    `${lab.a}/test/app:v1`,
    `${lab.a}/test/app:v1-docker`,
    `${lab.a}/test/multi:v1`,
  ]);
  assert.equal(res.size, 3);
  assert.equal(analyzer.fetchedLayers, 2, 'the three images share both layers');
});

/** Proxies registry a and records every request line ("GET /v2/…"). */
async function recordingProxy(upstream: string): Promise<{ server: Server; seen: string[] }> {
  const [host, port] = upstream.split(':');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const up = request(
      { host, port: Number(port), path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen };
}

test('prefetch sends the manifest and config requests by itself, no layer; analyze reuses them', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const { server, seen } = await recordingProxy(lab.a);
  t.after(() => server.close());
  const proxy = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const c = client(proxy);
  t.after(() => c.close());
  const ref = `${proxy}/test/app:v1`;
  const analyzer = new ImageAnalyzer({ client: c, cachePath: null, progress: 'off', worker: false });
  const count = (re: RegExp): number => seen.filter((l) => re.test(l)).length;
  analyzer.prefetch([ref, ref]);
  // Nobody awaits anything: the requests must go out on their own (manifest, then the config blob).
  for (let i = 0; i < 400 && count(/\/blobs\//) === 0; i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 100)); // room for a wrong extra request to show up
  assert.equal(count(/\/manifests\//), 1, seen.join(', '));
  assert.equal(count(/\/blobs\//), 1, `the config only, no layer: ${seen.join(', ')}`);
  await analyzer.analyze(ref);
  assert.equal(count(/\/manifests\//), 1, `analyze reused the prefetched manifest: ${seen.join(', ')}`);
  assert.equal(count(/\/blobs\//), 3, `config once, then the two layers: ${seen.join(', ')}`);
  assert.equal(analyzer.fetchedLayers, 2);
});

test('contrast image analyze --json', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const r = await runCli([
    'image',
    'analyze',
    `${lab.a}/test/app:v1`,
    '--json',
    '--verity',
    '--no-cache',
    '--insecure-registry',
    `http://${lab.a}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    reference: string;
    digest: string;
    user: object;
    layers: Array<{ verityRoot?: string; diffId: string }>;
  };
  assert.equal(out.digest, seed.appV1);
  assert.deepEqual(out.user, { uid: 1000, gid: 1000, additionalGids: [], username: 'app' });
  assert.equal(out.layers.length, 2);
  assert.ok(
    out.layers.every((l) => /^[0-9a-f]{64}$/.test(l.verityRoot ?? '') && l.diffId.startsWith('sha256:')),
  );
});

test('--concurrency bounds the layer passes in flight (worker path); results equal the in-thread ones', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  // Four distinct layers of 400 KiB random data (incompressible, so well over the worker threshold).
  const refs: string[] = [];
  for (let i = 0; i < 2; i++) {
    const target = `${lab.a}/image-engine/concurrency:v${i}`;
    pushTestImage(target, [
      { tar: tar(entry({ name: `a${i}` }, randomBytes(400_000))), compression: 'gzip' },
      { tar: tar(entry({ name: `b${i}` }, randomBytes(400_000))), compression: 'gzip' },
    ]);
    refs.push(target);
  }
  const c = client(lab.a);
  t.after(() => c.close());
  let active = 0;
  let peak = 0;
  let target = 1;
  let held: (() => void)[] = [];
  const open = c.openBlob.bind(c);
  c.openBlob = async (...args: Parameters<RegistryClient['openBlob']>) => {
    const s = await open(...args);
    active++;
    peak = Math.max(peak, active);
    s.once('close', () => active--);
    // Hold each stream until `target` are open (or 500 ms pass), so reaching the bound does not depend
    // on timing; a broken bound still shows as a peak above it.
    if (active >= target) {
      for (const release of held) release();
      held = [];
    } else {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        held.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return s;
  };
  const results = [];
  for (const [concurrency, worker] of [
    [1, true],
    [2, true],
    [2, false],
  ] as const) {
    peak = 0;
    target = concurrency;
    const a = new ImageAnalyzer({
      client: c,
      cachePath: null,
      progress: 'off',
      verity: true,
      concurrency,
      worker,
    });
    const res = await a.analyzeMany(refs);
    assert.equal(a.fetchedLayers, 4);
    assert.equal(peak, concurrency, `at most ${concurrency} layer(s) streamed at once`);
    results.push([...res.values()].map((img) => img.layerAnalysis));
  }
  assert.deepEqual(results[0], results[2]);
  assert.deepEqual(results[1], results[2]);
});
