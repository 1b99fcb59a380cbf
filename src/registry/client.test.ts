// Client behaviour against local fault-injecting registries: digests, truncation, resets, mirrors, caching.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  anonymous,
  fakeImage,
  fastRetry,
  registryHandler,
  sha256,
  startServer,
  type FakeServer,
} from '../../test/registry-fake.js';
import { RegistryClient } from './client.js';
import { parseRegistriesConf } from './registries-conf.js';
import type { Descriptor } from './types.js';

function client(...servers: FakeServer[]) {
  return new RegistryClient({
    insecureRegistries: servers.map((s) => `http://${s.host}`),
    credentialResolver: async () => anonymous,
    retry: fastRetry,
    registriesConfig: { path: undefined, registries: [] },
  });
}

async function drain(stream: Readable): Promise<{ bytes: Buffer; ended: boolean }> {
  let ended = false;
  stream.on('end', () => (ended = true));
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return { bytes: Buffer.concat(chunks), ended };
}

const img = fakeImage();
const layer = (): Descriptor => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: img.layerDigest,
  size: img.layer.length,
});

/** The layer read from `reg` is the image's layer, byte for byte (after whatever the server did). */
async function expectWholeLayer(t: TestContext, reg: FakeServer): Promise<void> {
  const c = client(reg);
  t.after(() => c.close());
  const { bytes } = await drain(await c.openBlob(`${reg.host}/test/app:v1`, layer()));
  assert.ok(bytes.equals(img.layer));
}

/** Opening the layer from `reg` succeeds, then the stream errors with `message` and never ends. */
async function expectLayerStreamFails(t: TestContext, reg: FakeServer, message: RegExp): Promise<void> {
  const c = client(reg);
  t.after(() => c.close());
  const stream = await c.openBlob(`${reg.host}/test/app:v1`, layer());
  let ended = false;
  stream.on('end', () => (ended = true));
  await assert.rejects(drain(stream), message);
  assert.equal(ended, false);
}

test('resolves a manifest + config from a plain-HTTP registry and streams a verified layer', async (t) => {
  const reg = await startServer(registryHandler(img));
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  const resolved = await c.resolveImage(`${reg.host}/test/app:v1`);
  assert.equal(resolved.digest, img.manifestDigest);
  assert.equal(resolved.configDigest, img.configDigest);
  assert.deepEqual(resolved.config.config?.Entrypoint, ['/bin/app']);
  assert.equal(resolved.credential.kind, 'anonymous');
  const { bytes, ended } = await drain(await c.openBlob(`${reg.host}/test/app:v1`, layer()));
  assert.ok(ended);
  assert.ok(bytes.equals(img.layer));
});

test('warm resolve by tag costs one HEAD; by digest costs nothing', async (t) => {
  const reg = await startServer(registryHandler(img));
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  await c.resolveImage(`${reg.host}/test/app:v1`);
  const cold = c.requestCount();
  await c.resolveImage(`${reg.host}/test/app:v1`);
  assert.equal(c.requestCount() - cold, 1);
  assert.equal(reg.requests.at(-1)?.method, 'HEAD');
  const before = c.requestCount();
  await c.resolveImage(`${reg.host}/test/app@${img.manifestDigest}`);
  assert.equal(c.requestCount(), before);
});

test('metadata cache: a tag in a repository the cache holds nothing for goes straight to the GET', async (t) => {
  const reg = await startServer(registryHandler(img));
  t.after(() => reg.close());
  const dir = mkdtempSync(join(tmpdir(), 'metadata-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (): Promise<string[]> => {
    const c = client(reg);
    c.useMetadataCache(dir);
    const from = reg.requests.length;
    try {
      assert.equal((await c.resolveImage(`${reg.host}/test/app:v1`)).digest, img.manifestDigest);
      return reg.requests
        .slice(from)
        .map((q) => `${q.method} ${q.url}`)
        .filter((q) => q !== 'GET /v2/');
    } finally {
      await c.close();
    }
  };
  // First run: no cached copy the HEAD's digest could point to, so no HEAD.
  assert.deepEqual(await run(), [
    'GET /v2/test/app/manifests/v1',
    `GET /v2/test/app/blobs/${img.configDigest}`,
  ]);
  // Next run: the HEAD tells whether the cached copy is still what the tag points to.
  assert.deepEqual(await run(), ['HEAD /v2/test/app/manifests/v1']);
});

test('metadata cache across runs: by digest no request, by tag one HEAD; damaged files are refetched', async (t) => {
  const reg = await startServer(registryHandler(img));
  t.after(() => reg.close());
  const dir = mkdtempSync(join(tmpdir(), 'metadata-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (ref: string): Promise<{ requests: string[]; digest: string }> => {
    const c = client(reg);
    c.useMetadataCache(dir);
    const from = reg.requests.length;
    try {
      const r = await c.resolveImage(ref);
      assert.equal(r.configDigest, img.configDigest);
      return {
        requests: reg.requests.slice(from).map((q) => `${q.method} ${q.url}`),
        digest: r.digest,
      };
    } finally {
      await c.close();
    }
  };
  const pinned = `${reg.host}/test/app@${img.manifestDigest}`;
  const cold = await run(pinned);
  assert.ok(cold.requests.some((q) => q.startsWith('GET /v2/test/app/blobs/')));
  // A fresh client (a new process) with the same directory: nothing is asked of the registry.
  assert.deepEqual((await run(pinned)).requests, []);
  // By tag: one HEAD to learn where the tag points now, besides the per-registry ping.
  const tagged = await run(`${reg.host}/test/app:v1`);
  assert.equal(tagged.digest, img.manifestDigest);
  assert.deepEqual(
    tagged.requests.filter((q) => q !== 'GET /v2/'),
    ['HEAD /v2/test/app/manifests/v1'],
  );
  // The same digest under another repository is not a hit: that repository may not exist or may
  // need another credential, so only the registry can say (this one does not know the name).
  await assert.rejects(run(`${reg.host}/test/other@${img.manifestDigest}`), /NAME_UNKNOWN/);
  // A cached file that no longer matches its digest is not trusted: it is fetched again.
  const scope = createHash('sha256').update(`${reg.host}/test/app`).digest('hex').slice(0, 32);
  const file = join(dir, scope, 'sha256', img.configDigest.slice(7));
  writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(' ')]));
  const refetched = await run(pinned);
  assert.deepEqual(
    refetched.requests.filter((q) => q !== 'GET /v2/'),
    [`GET /v2/test/app/blobs/${img.configDigest}`],
  );
  assert.deepEqual((await run(pinned)).requests, []);
});

test('connections are reused: sequential requests open no new one, concurrent ones at most the pool size', async (t) => {
  const reg = await startServer(registryHandler(img));
  t.after(() => reg.close());
  let connections = 0;
  reg.server.on('connection', () => connections++);
  const c = client(reg);
  t.after(() => c.close());
  const round = async (): Promise<void> => {
    await c.resolveImage(`${reg.host}/test/app@${img.manifestDigest}`);
    await drain(await c.openBlob(`${reg.host}/test/app:v1`, layer()));
  };
  await round();
  // The request right after the ping may start before undici has taken that socket back.
  const warm = connections;
  assert.ok(warm <= 2, `${warm} connections for the first resolve`);
  for (let i = 0; i < 5; i++) await round();
  assert.equal(connections, warm, 'later requests travel over the kept-alive connections');
  await Promise.all(
    Array.from({ length: 40 }, () => c.openBlob(`${reg.host}/test/app:v1`, layer()).then(drain)),
  );
  assert.ok(connections <= 16, `${connections} connections for 40 concurrent blobs (pool of 16 per origin)`);
});

test('a connection reset in the middle of a blob resumes with a Range request', async (t) => {
  let first = true;
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest) || !first) return false;
      first = false;
      res.writeHead(200, { 'content-length': img.layer.length });
      res.write(img.layer.subarray(0, 5000));
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    }),
  );
  t.after(() => reg.close());
  await expectWholeLayer(t, reg);
  const blobRequests = reg.requests.filter((r) => r.url.endsWith(img.layerDigest));
  assert.equal(blobRequests.length, 2);
  assert.equal(blobRequests[1]?.headers['range'], 'bytes=5000-');
});

test('a server that ignores Range after a reset: the already-read prefix is skipped', async (t) => {
  let first = true;
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest)) return false;
      res.writeHead(200, { 'content-length': img.layer.length });
      if (first) {
        first = false;
        res.write(img.layer.subarray(0, 3000));
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.end(img.layer);
      }
      return true;
    }),
  );
  t.after(() => reg.close());
  await expectWholeLayer(t, reg);
});

test('a blob that keeps breaking (truncated body) errors before end, naming bytes received', async (t) => {
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest)) return false;
      res.writeHead(req.headers['range'] ? 206 : 200, {
        'content-length': img.layer.length,
        ...(req.headers['range']
          ? {
              'content-range': `${String(req.headers['range']).replace('=', ' ')}${img.layer.length - 1}/${img.layer.length}`,
            }
          : {}),
      });
      res.write(Buffer.alloc(100, 1));
      setTimeout(() => res.socket?.destroy(), 10);
      return true;
    }),
  );
  t.after(() => reg.close());
  await expectLayerStreamFails(t, reg, /download interrupted after \d+ of 12000 bytes/);
});

test('wrong content for a digest: the stream errors and never ends', async (t) => {
  const evil = Buffer.from(img.layer);
  evil[100] = 0x41;
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest)) return false;
      res.writeHead(200, { 'content-length': evil.length }).end(evil);
      return true;
    }),
  );
  t.after(() => reg.close());
  await expectLayerStreamFails(t, reg, new RegExp(`digest mismatch: expected ${img.layerDigest}`));
});

test('digestCheckedByCaller: wrong content passes to the caller (who hashes it), a wrong size still fails', async (t) => {
  const evil = Buffer.from(img.layer);
  evil[100] = 0x41;
  let body: Buffer = evil;
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest)) return false;
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return true;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  const open = () =>
    c.openBlob(`${reg.host}/test/app:v1`, layer(), Infinity, { digestCheckedByCaller: true });
  const { bytes, ended } = await drain(await open());
  assert.ok(ended && bytes.equals(evil));
  body = Buffer.concat([img.layer, Buffer.from('x')]);
  await assert.rejects(drain(await open()), /received more than the 12000 bytes/);
  body = img.layer.subarray(0, 10);
  await assert.rejects(drain(await open()), /got 10 bytes, its descriptor declares 12000/);
});

test('a complete but short body (consistent Content-Length) is a size mismatch', async (t) => {
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest)) return false;
      res.writeHead(200, { 'content-length': 10 }).end(img.layer.subarray(0, 10));
      return true;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  await assert.rejects(
    drain(await c.openBlob(`${reg.host}/test/app:v1`, layer())),
    /got 10 bytes, its descriptor declares 12000/,
  );
});

test('manifest digest checks: by digest, and Docker-Content-Digest by tag', async (t) => {
  const other = Buffer.from(img.manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (
        req.url === `/v2/test/app/manifests/${img.manifestDigest}` ||
        req.url === '/v2/test/app/manifests/v1'
      ) {
        res
          .writeHead(200, {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
            'docker-content-digest': img.manifestDigest,
          })
          .end(other);
        return true;
      }
      return false;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  await assert.rejects(c.fetchManifest(`${reg.host}/test/app@${img.manifestDigest}`), /digest mismatch/);
  await assert.rejects(
    c.fetchManifest(`${reg.host}/test/app:v1`),
    /\(Docker-Content-Digest\): digest mismatch/,
  );
});

test('schema 1 and oversized manifests are refused', async (t) => {
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200).end();
    if (req.url?.endsWith('/old')) {
      return void res
        .writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' })
        .end('{"schemaVersion":1}');
    }
    res.writeHead(200, {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'content-length': 5 * 1024 * 1024,
    });
    res.end(Buffer.alloc(5 * 1024 * 1024, 32));
  });
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  await assert.rejects(c.resolveImage(`${reg.host}/test/app:old`), /schema 1 manifests are not supported/);
  await assert.rejects(c.resolveImage(`${reg.host}/test/app:big`), /exceeds the 4194304-byte limit/);
});

test('index → platform: picks the wanted platform, verifies the child against the index descriptor', async (t) => {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256('nope'),
          size: 4,
          platform: { os: 'linux', architecture: 'arm64' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: img.manifestDigest,
          size: img.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (req.url !== '/v2/test/app/manifests/multi') return false;
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(index);
      return true;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg);
  t.after(() => c.close());
  const r = await c.resolveImage(`${reg.host}/test/app:multi`);
  assert.equal(r.indexDigest, sha256(index));
  assert.equal(r.digest, img.manifestDigest);
  await assert.rejects(
    c.resolveImage(`${reg.host}/test/app:multi`, { platform: { os: 'linux', architecture: 's390x' } }),
    /available: linux\/arm64, linux\/amd64/,
  );
});

test('mirrors: served from the mirror under the original name; a failing mirror falls back to the primary', async (t) => {
  const mirror = await startServer(registryHandler(img, 'hub/test/app'));
  const primary = await startServer(registryHandler(img, 'test/app'));
  const broken = await startServer((_req, res) => void res.writeHead(404).end());
  t.after(() => Promise.all([mirror.close(), primary.close(), broken.close()]));
  const conf = (m: FakeServer, path: string) =>
    parseRegistriesConf(
      `[[registry]]\nprefix = "${primary.host}"\nlocation = "${primary.host}"\n[[registry.mirror]]\nlocation = "${m.host}${path}"\ninsecure = true\n`,
    );
  const c1 = new RegistryClient({
    registriesConfig: conf(mirror, '/hub'),
    credentialResolver: async () => anonymous,
    retry: fastRetry,
    insecureRegistries: [`http://${primary.host}`],
  });
  t.after(() => c1.close());
  const r = await c1.resolveImage(`${primary.host}/test/app:v1`);
  assert.equal(r.reference.domain, primary.host);
  assert.equal(r.reference.path, 'test/app');
  assert.equal(primary.requests.length, 0, 'primary never contacted');
  assert.ok(mirror.requests.some((q) => q.url === '/v2/hub/test/app/manifests/v1'));
  await drain(await c1.openBlob(r.reference, layer()));
  assert.equal(primary.requests.length, 0);

  const c2 = new RegistryClient({
    registriesConfig: conf(broken, ''),
    credentialResolver: async () => anonymous,
    retry: fastRetry,
    insecureRegistries: [`http://${primary.host}`],
  });
  t.after(() => c2.close());
  assert.equal((await c2.resolveImage(`${primary.host}/test/app:v1`)).digest, img.manifestDigest);
  assert.ok(broken.requests.length > 0);
});

test('foreign layers: fetched from their URL without credentials when the registry lacks them', async (t) => {
  const cdn = await startServer((_req, res) => void res.writeHead(200).end(img.layer));
  const reg = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (!req.url?.endsWith(img.layerDigest)) return false;
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
      return true;
    }),
  );
  t.after(() => Promise.all([cdn.close(), reg.close()]));
  const c = new RegistryClient({
    insecureRegistries: [`http://${reg.host}`, `http://${cdn.host}`],
    credentialResolver: async () => ({
      kind: 'basic',
      username: 'u',
      password: 'p-secret',
      source: { type: 'file', description: 'f' },
    }),
    retry: fastRetry,
    registriesConfig: { path: undefined, registries: [] },
  });
  t.after(() => c.close());
  const d: Descriptor = {
    ...layer(),
    mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    urls: [`${cdn.origin}/layer.tgz`],
  };
  const { bytes } = await drain(await c.openBlob(`${reg.host}/test/app:v1`, d));
  assert.ok(bytes.equals(img.layer));
  assert.equal(cdn.requests[0]?.headers['authorization'], undefined);
});

test('manifestDigest uses HEAD, falls back to GET when the header is missing', async (t) => {
  const reg = await startServer(registryHandler(img));
  const bare = await startServer(
    registryHandler(img, 'test/app', (req, res) => {
      if (req.method !== 'HEAD') return false;
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end();
      return true;
    }),
  );
  t.after(() => Promise.all([reg.close(), bare.close()]));
  const c = client(reg, bare);
  t.after(() => c.close());
  assert.equal((await c.manifestDigest(`${reg.host}/test/app:v1`)).digest, img.manifestDigest);
  assert.deepEqual(
    reg.requests.filter((r) => r.url !== '/v2/').map((r) => r.method),
    ['HEAD'],
  );
  assert.equal((await c.manifestDigest(`${bare.host}/test/app:v1`)).digest, img.manifestDigest);
  assert.deepEqual(
    bare.requests.filter((r) => r.url !== '/v2/').map((r) => r.method),
    ['HEAD', 'GET'],
  );
});

for (const status of [405, 501]) {
  test(`a registry answering ${status} to HEAD: one extra GET, no error, caches still used (cold and warm)`, async (t) => {
    const headless = (req: { method?: string | undefined; url?: string | undefined }) =>
      req.method === 'HEAD' && (req.url ?? '').includes('/manifests/');
    const reg = await startServer(
      registryHandler(img, 'test/app', (req, res) => {
        if (!headless(req)) return false;
        res.writeHead(status).end();
        return true;
      }),
    );
    t.after(() => reg.close());
    const manifestCalls = (): string[] => {
      const out = reg.requests.filter((r) => r.url.includes('/manifests/')).map((r) => r.method);
      reg.requests.length = 0;
      return out;
    };
    const blobCalls = () => reg.requests.filter((r) => r.url.includes('/blobs/')).length;
    const ref = `${reg.host}/test/app:v1`;

    const c = client(reg);
    t.after(() => c.close());
    assert.equal((await c.resolveImage(ref)).digest, img.manifestDigest);
    assert.equal(blobCalls(), 1); // the config
    assert.deepEqual(manifestCalls(), ['GET']); // cold: no HEAD at all, as with any registry
    // Warm: a HEAD-capable registry costs ['HEAD']; this one costs the refused HEAD plus one GET …
    const warm = await c.resolveImage(ref);
    assert.equal(warm.digest, img.manifestDigest);
    assert.deepEqual(warm.config.config?.Entrypoint, ['/bin/app']);
    assert.equal(blobCalls(), 0); // config from the cache
    assert.deepEqual(manifestCalls(), ['HEAD', 'GET']);
    // … and from then on a single GET: the refused HEAD is not paid again.
    await c.resolveImage(ref);
    assert.equal(blobCalls(), 0);
    assert.deepEqual(manifestCalls(), ['GET']);
    assert.equal((await c.manifestDigest(ref)).digest, img.manifestDigest);
    assert.deepEqual(manifestCalls(), ['GET']);

    // manifestDigest on a fresh client: cold = refused HEAD + one GET, warm = one GET.
    const d = client(reg);
    t.after(() => d.close());
    assert.equal((await d.manifestDigest(ref)).digest, img.manifestDigest);
    assert.deepEqual(manifestCalls(), ['HEAD', 'GET']);
    assert.equal((await d.manifestDigest(ref)).digest, img.manifestDigest);
    assert.deepEqual(manifestCalls(), ['GET']);
    assert.equal((await d.resolveImage(ref)).digest, img.manifestDigest);
    assert.deepEqual(manifestCalls(), ['GET']);
  });
}
