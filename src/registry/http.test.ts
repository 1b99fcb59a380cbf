// Retries and redirects, against local servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basicCredential, fastRetry, startServer } from '../../test/registry-fake.js';
import { RegistryTransport } from './transport.js';
import { isPresignedUrl } from './http.js';

function basicRegistryTransport(host: string, retry = fastRetry) {
  return new RegistryTransport({
    insecureRegistries: [`http://${host}`],
    credentialResolver: async () => basicCredential('alice', 'secret-pw'),
    retry,
  });
}

const basicAuth = `Basic ${Buffer.from('alice:secret-pw').toString('base64')}`;

test('500 and 503 are retried with backoff, then success', async (t) => {
  let n = 0;
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200).end();
    n++;
    if (n === 1) return void res.writeHead(500).end('boom');
    if (n === 2) return void res.writeHead(503).end('busy');
    res.writeHead(200).end('ok');
  });
  t.after(() => reg.close());
  const tr = basicRegistryTransport(reg.host);
  t.after(() => tr.close());
  const res = await tr.request({
    registry: reg.host,
    repository: 'a/b',
    actions: ['pull'],
    method: 'GET',
    path: '/v2/a/b/manifests/x',
    what: 'm',
  });
  assert.equal(res.status, 200);
  assert.equal(n, 3);
});

test('persistent 502 fails after the retry limit with the status', async (t) => {
  const reg = await startServer((req, res) =>
    req.url === '/v2/' ? void res.writeHead(200).end() : void res.writeHead(502).end('bad gateway'),
  );
  t.after(() => reg.close());
  const tr = basicRegistryTransport(reg.host);
  t.after(() => tr.close());
  await assert.rejects(
    tr.request({
      registry: reg.host,
      repository: 'a/b',
      actions: ['pull'],
      method: 'GET',
      path: '/v2/a/b/manifests/x',
      what: 'manifest a/b:x',
    }),
    /manifest a\/b:x: registry 127.0.0.1:\d+ answered HTTP 502: bad gateway/,
  );
  assert.equal(reg.requests.filter((r) => r.url !== '/v2/').length, 3);
});

test('429 honours Retry-After, and a final 429 shows the rate-limit headers', async (t) => {
  let n = 0;
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200).end();
    n++;
    if (req.url?.includes('limited')) {
      return void res
        .writeHead(429, {
          'retry-after': '3600',
          'ratelimit-limit': '100;w=21600',
          'ratelimit-remaining': '0;w=21600',
        })
        .end(
          JSON.stringify({
            errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit' }],
          }),
        );
    }
    if (n === 1) return void res.writeHead(429, { 'retry-after': '1' }).end();
    res.writeHead(200).end();
  });
  t.after(() => reg.close());
  const tr = basicRegistryTransport(reg.host);
  t.after(() => tr.close());
  const started = Date.now();
  await tr.request({
    registry: reg.host,
    repository: 'a/b',
    actions: ['pull'],
    method: 'GET',
    path: '/v2/a/b/manifests/x',
    what: 'm',
  });
  assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms for Retry-After: 1`);
  await assert.rejects(
    tr.request({
      registry: reg.host,
      repository: 'a/b',
      actions: ['pull'],
      method: 'GET',
      path: '/v2/a/b/manifests/limited',
      what: 'm',
    }),
    (err: Error & { code?: string }) => {
      assert.match(err.message, /HTTP 429: TOOMANYREQUESTS: You have reached your pull rate limit/);
      assert.match(err.message, /ratelimit-remaining: 0;w=21600/);
      assert.match(err.message, /retry-after: 3600/);
      assert.equal(err.code, 'RATE_LIMITED');
      return true;
    },
  );
});

test('redirect to another origin drops Authorization; same-origin redirect keeps it; pre-signed URLs never get it', async (t) => {
  const storage = await startServer((_req, res) => void res.writeHead(200).end('blob-data'));
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
    if (req.url?.startsWith('/internal/blob')) return void res.writeHead(200).end('local-data');
    if (req.headers['authorization'] !== basicAuth)
      return void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
    if (req.url === '/v2/a/b/blobs/foreign')
      return void res.writeHead(302, { location: `${storage.origin}/bucket/blob?X-Amz-Signature=abc` }).end();
    if (req.url === '/v2/a/b/blobs/local')
      return void res.writeHead(307, { location: '/internal/blob' }).end();
    if (req.url === '/v2/a/b/blobs/signed')
      return void res.writeHead(307, { location: '/internal/blob?sig=xyz' }).end();
    res.writeHead(404).end();
  });
  t.after(() => Promise.all([storage.close(), reg.close()]));
  const tr = basicRegistryTransport(reg.host);
  t.after(() => tr.close());
  const fetchBlob = async (name: string) => {
    const r = await tr.request({
      registry: reg.host,
      repository: 'a/b',
      actions: ['pull'],
      method: 'GET',
      path: `/v2/a/b/blobs/${name}`,
      what: 'b',
    });
    return r.body.text();
  };
  assert.equal(await fetchBlob('foreign'), 'blob-data');
  assert.equal(storage.requests.length, 1);
  assert.equal(
    storage.requests[0]?.headers['authorization'],
    undefined,
    'storage origin got no Authorization',
  );
  assert.equal(await fetchBlob('local'), 'local-data');
  assert.equal(reg.requests.find((r) => r.url === '/internal/blob')?.headers['authorization'], basicAuth);
  assert.equal(await fetchBlob('signed'), 'local-data');
  assert.equal(
    reg.requests.find((r) => r.url === '/internal/blob?sig=xyz')?.headers['authorization'],
    undefined,
  );
});

test('redirect loops stop', async (t) => {
  const reg = await startServer((req, res) =>
    req.url === '/v2/'
      ? void res.writeHead(200).end()
      : void res.writeHead(302, { location: req.url ?? '/' }).end(),
  );
  t.after(() => reg.close());
  const tr = basicRegistryTransport(reg.host);
  t.after(() => tr.close());
  await assert.rejects(
    tr.request({
      registry: reg.host,
      repository: 'a/b',
      actions: ['pull'],
      method: 'GET',
      path: '/v2/a/b/blobs/x',
      what: 'blob x',
    }),
    /blob x: more than 10 redirects/,
  );
});

test('pre-signed URL detection', () => {
  assert.ok(isPresignedUrl(new URL('https://s3.example/b?X-Amz-Algorithm=AWS4&X-Amz-Signature=1')));
  assert.ok(isPresignedUrl(new URL('https://acct.blob.core.windows.net/c/b?sv=1&sig=abc')));
  assert.ok(!isPresignedUrl(new URL('https://registry.example/v2/a/blobs/sha256:1')));
});
