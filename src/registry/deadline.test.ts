// Overall deadlines against a local server that trickles bytes (issue 14.10): idle timeouts never fire
// for a server that sends a byte every few milliseconds, so only an overall deadline ends such a
// request. Small configured limits keep the test short; it asserts on the error, not on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { anonymous, fakeImage, fastRetry, registryHandler, startServer } from '../../test/registry-fake.js';
import { RegistryClient } from './client.js';
import { blobBudgetMs, defaultDeadlines, type Deadlines } from './deadline.js';
import { clientOptionsFromFlags } from './options.js';

/** Sends `body` one byte every 10 ms (all of it, correct digest: only the pace is wrong). */
function trickle(res: ServerResponse, body: Buffer, headers: Record<string, string | number> = {}): void {
  res.writeHead(200, { 'content-length': body.length, ...headers });
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(body.subarray(i, i + 1));
    if (++i >= body.length) {
      clearInterval(timer);
      res.end();
    }
  }, 10);
  res.on('close', () => clearInterval(timer));
}

function client(host: string, deadlines: Partial<Deadlines>) {
  return new RegistryClient({
    env: {},
    insecureRegistries: [`http://${host}`],
    credentialResolver: async () => anonymous,
    retry: fastRetry,
    deadlines,
  });
}

test('a trickled blob fails at its deadline (base + size / minimum throughput), naming the progress', async (t) => {
  const image = fakeImage(Buffer.from('x'.repeat(300))); // 300 bytes at 100 B/s: 3 s
  const reg = await startServer(
    registryHandler(image, 'test/app', (req, res) => {
      if (req.url !== `/v2/test/app/blobs/${image.layerDigest}`) return false;
      trickle(res, image.layer);
      return true;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg.host, { blobBaseMs: 300, minBlobBytesPerSecond: 1_000_000 });
  t.after(() => c.close());
  // The deadline may fire before or after the first byte, depending on the machine's load.
  await assert.rejects(
    (async () => {
      const stream = await c.openBlob(`${reg.host}/test/app:v1`, {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: image.layerDigest,
        size: image.layer.length,
      });
      for await (const _ of stream);
    })(),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DEADLINE');
      assert.match(
        err.message,
        /blob sha256:[0-9a-f]{64} of .*test\/app:v1: not complete after 0\.3 s \(\d+ of 300 bytes/,
      );
      return true;
    },
  );
});

test('a trickled manifest fails at the request deadline', async (t) => {
  const image = fakeImage();
  const reg = await startServer(
    registryHandler(image, 'test/app', (req, res) => {
      if (req.url !== '/v2/test/app/manifests/v1' || req.method !== 'GET') return false;
      trickle(res, image.manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      return true;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg.host, { requestMs: 300 });
  t.after(() => c.close());
  await assert.rejects(c.fetchManifest(`${reg.host}/test/app:v1`), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'DEADLINE');
    assert.match(err.message, /^manifest .*test\/app:v1: no complete answer within 0\.3 s$/);
    return true;
  });
});

test('a trickled config is capped by the request deadline even when its blob budget is larger', async (t) => {
  const image = fakeImage();
  const reg = await startServer(
    registryHandler(image, 'test/app', (req, res) => {
      if (req.url !== `/v2/test/app/blobs/${image.configDigest}`) return false;
      trickle(res, image.config);
      return true;
    }),
  );
  t.after(() => reg.close());
  const c = client(reg.host, { requestMs: 300, blobBaseMs: 60_000 });
  t.after(() => c.close());
  await assert.rejects(c.resolveImage(`${reg.host}/test/app:v1`), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'DEADLINE');
    assert.match(err.message, new RegExp(`blob ${image.configDigest} .*not complete after 0\\.3 s`));
    return true;
  });
});

test('budgets: defaults, and the CLI flags in KiB/s and seconds', () => {
  assert.equal(blobBudgetMs(0, defaultDeadlines), 120_000);
  assert.equal(blobBudgetMs(1024 * 1024 * 1024, defaultDeadlines), 120_000 + 4096_000);
  const o = clientOptionsFromFlags({ minBlobThroughput: '64', requestDeadline: '30' }, {});
  assert.deepEqual(o.deadlines, { minBlobBytesPerSecond: 64 * 1024, requestMs: 30_000 });
  assert.throws(
    () => clientOptionsFromFlags({ requestDeadline: '0' }, {}),
    /--request-deadline: expected a positive number/,
  );
});

/** Never ends: one byte every 10 ms, no Content-Length. */
function endless(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write('x');
  }, 10);
  res.on('close', () => clearInterval(timer));
}

// Before the fix these requests never ended; the test timeout turns that into a failure.
test(
  'an endless /v2/ ping body and an endless token answer end at the request deadline',
  { timeout: 30_000 },
  async (t) => {
    const image = fakeImage();
    const ping = await startServer((req, res) => {
      if (req.url === '/v2/') endless(res, 200);
      else res.writeHead(404).end();
    });
    const tokens = await startServer((_req, res) =>
      endless(res, 200, { 'content-type': 'application/json' }),
    );
    const reg = await startServer(
      registryHandler(image, 'test/app', (req, res) => {
        if (req.headers['authorization']) return false;
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="x"` }).end();
        return true;
      }),
    );
    t.after(() => Promise.all([ping.close(), tokens.close(), reg.close()]));
    const c1 = client(ping.host, { requestMs: 300 });
    t.after(() => c1.close());
    await assert.rejects(c1.fetchManifest(`${ping.host}/test/app:v1`), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DEADLINE');
      assert.match(err.message, /^ping of registry 127\.0\.0\.1:\d+: no complete answer within 0\.3 s$/);
      return true;
    });
    const c2 = client(reg.host, { requestMs: 300 });
    t.after(() => c2.close());
    await assert.rejects(c2.fetchManifest(`${reg.host}/test/app:v1`), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DEADLINE');
      assert.match(err.message, /^token request for 127\.0\.0\.1:\d+: no complete answer within 0\.3 s$/);
      return true;
    });
  },
);
