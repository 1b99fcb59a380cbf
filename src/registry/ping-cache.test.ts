// The ping cache (what a /v2/ ping learned, reused by later runs): its file rules, and the transport's
// handling of a cached state that went stale. Small local servers stand in where a real registry
// will not produce the fault (a registry that switches auth scheme, a storage origin that challenges);
// the lab's real registries are used in test/registry-ping-cache.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basicCredential, fastRetry, startServer, type FakeServer } from '../../test/registry-fake.js';
import { PingCache, type PingMode } from './ping-cache.js';
import { RegistryTransport } from './transport.js';
import type { RegistryCredential } from './types.js';

const password = 'pw-Ping-Secret-77';
const BASIC = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;

function cacheDir(): string {
  return mkdtempSync(join(tmpdir(), 'ping-cache-'));
}

/** A cache directory in which an earlier run recorded `rec` for `host` under `mode`. */
async function cacheWith(...entry: Parameters<PingCache['put']>): Promise<string> {
  const dir = cacheDir();
  await new PingCache(dir).put(...entry);
  return dir;
}

/** A transport for `reg` using the ping cache in `dir`, closed after the test. */
function transportFor(
  t: TestContext,
  reg: FakeServer,
  dir: string,
  credential: RegistryCredential = basicCredential('alice', password),
  insecure = `http://${reg.host}`,
): RegistryTransport {
  const tr = new RegistryTransport({
    insecureRegistries: [insecure],
    credentialResolver: async () => credential,
    retry: fastRetry,
  });
  tr.usePingCache(new PingCache(dir));
  t.after(() => tr.close());
  return tr;
}

const head = (t: RegistryTransport, reg: FakeServer) =>
  t.request({
    registry: reg.host,
    repository: 'test/app',
    actions: ['pull'],
    method: 'HEAD',
    path: '/v2/test/app/manifests/v1',
    what: 'manifest test/app:v1',
  });

/** A registry with Basic auth (or none) that answers every manifest HEAD with 200. */
function registry(auth: () => 'basic' | 'none') {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (auth() === 'basic' && req.headers['authorization'] !== BASIC) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="reg"' }).end();
      return;
    }
    res.writeHead(200, { 'docker-content-digest': 'sha256:' + '0'.repeat(64) }).end();
  };
}

/** `registry(auth)` on a local server, stopped after the test. */
async function fakeRegistry(t: TestContext, auth: () => 'basic' | 'none'): Promise<FakeServer> {
  const reg = await startServer(registry(auth));
  t.after(() => reg.close());
  return reg;
}

const pings = (s: FakeServer) => s.requests.filter((r) => r.url === '/v2/').length;

test('ping cache file: keyed by configuration, bounded age, no secrets, only trusted when private', async () => {
  const dir = cacheDir();
  const c = new PingCache(dir, false, 1000);
  const rec = { scheme: 'http' as const, challenges: [{ scheme: 'basic', params: { realm: 'reg' } }] };
  await c.put('Reg.example:5000', 'any', rec, 10_000);
  assert.deepEqual(await c.get('reg.example:5000', 'any', 10_500), rec);
  // Another configuration of the same host never sees it; neither does a later run past the age.
  for (const mode of ['secure', 'http'] as PingMode[])
    assert.equal(await c.get('reg.example:5000', mode, 10_500), undefined);
  assert.equal(await c.get('reg.example:5000', 'any', 11_001), undefined);
  // A scheme the configuration does not allow is neither stored nor read (a secure registry never
  // gets plain HTTP from a cache file).
  await c.put('secure.example', 'secure', rec, 10_000);
  assert.deepEqual(readdirSync(join(dir, 'ping')).length, 1);
  const file = join(dir, 'ping', readdirSync(join(dir, 'ping'))[0]!);
  const forged = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const key = createHash('sha256').update('secure.example|secure').digest('hex').slice(0, 32);
  writeFileSync(
    join(dir, 'ping', `${key}.json`),
    JSON.stringify({ ...forged, host: 'secure.example', mode: 'secure' }),
    { mode: 0o600 },
  );
  assert.equal(await c.get('secure.example', 'secure', 10_500), undefined);
  // A file others can write is not trusted (its realm would decide where credentials go).
  await c.put('reg.example:5000', 'any', rec, 10_000);
  for (const f of readdirSync(join(dir, 'ping'))) chmodSync(join(dir, 'ping', f), 0o666);
  assert.equal(await c.get('reg.example:5000', 'any', 10_500), undefined);
  for (const f of readdirSync(join(dir, 'ping'))) chmodSync(join(dir, 'ping', f), 0o600);
  assert.deepEqual(await c.get('reg.example:5000', 'any', 10_500), rec);
  // Read-only (--check): nothing written.
  const ro = cacheDir();
  await new PingCache(ro, true).put('reg.example:5000', 'any', rec);
  assert.deepEqual(readdirSync(ro), []);
});

test('Bearer registries are never cached: the realm that gets credentials is always the live one', async () => {
  const dir = cacheDir();
  const c = new PingCache(dir);
  const bearer = {
    scheme: 'https' as const,
    challenges: [{ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg' } }],
  };
  await c.put('reg.example', 'secure', { scheme: 'https', challenges: [] });
  assert.ok(await c.get('reg.example', 'secure'), 'an anonymous registry is cached');
  // The registry now asks for Bearer: the real ping's answer replaces nothing, it removes the entry.
  await c.put('reg.example', 'secure', bearer);
  assert.equal(await c.get('reg.example', 'secure'), undefined);
  assert.deepEqual(readdirSync(join(dir, 'ping')), []);
  // A file written with a Bearer challenge anyway (older version, by hand) is not used.
  const key = createHash('sha256').update('reg.example|secure').digest('hex').slice(0, 32);
  writeFileSync(
    join(dir, 'ping', `${key}.json`),
    JSON.stringify({ v: 1, host: 'reg.example', mode: 'secure', savedAt: Date.now(), ...bearer }),
    { mode: 0o600 },
  );
  assert.equal(await c.get('reg.example', 'secure'), undefined);
});

test('a second transport sharing the cache skips the ping; the file holds no credential', async (t) => {
  const reg = await fakeRegistry(t, () => 'basic');
  const dir = cacheDir();
  const first = transportFor(t, reg, dir);
  await head(first, reg);
  await first.close();
  assert.equal(pings(reg), 1);
  const second = transportFor(t, reg, dir);
  const res = await head(second, reg);
  assert.equal(res.status, 200);
  assert.equal(pings(reg), 1, 'no ping in the second run');
  assert.equal(reg.requests.at(-1)?.headers['authorization'], BASIC, 'Basic sent right away');
  const files = readdirSync(join(dir, 'ping'));
  assert.equal(files.length, 1);
  const text = readFileSync(join(dir, 'ping', files[0]!), 'utf8');
  for (const secret of [password, BASIC.slice(6), 'alice'])
    assert.ok(!text.includes(secret), `cache file contains ${secret}`);
  assert.match(text, /"scheme":"http"/);
});

test('stale cached challenge: a registry that started asking for auth recovers through its 401', async (t) => {
  let auth: 'basic' | 'none' = 'none';
  const reg = await fakeRegistry(t, () => auth);
  const dir = cacheDir();
  const first = transportFor(t, reg, dir);
  await head(first, reg);
  await first.close();
  auth = 'basic';
  const second = transportFor(t, reg, dir);
  assert.equal((await head(second, reg)).status, 200);
  // Anonymous HEAD (cached: no auth) → 401 Basic → real ping → HEAD with Basic.
  assert.deepEqual(
    reg.requests.slice(-3).map((r) => `${r.method} ${r.url} ${r.headers['authorization'] ? 'auth' : 'anon'}`),
    ['HEAD /v2/test/app/manifests/v1 anon', 'GET /v2/ anon', 'HEAD /v2/test/app/manifests/v1 auth'],
  );
  // The new challenge is what the next run reads.
  const third = transportFor(t, reg, dir);
  const before = reg.requests.length;
  await head(third, reg);
  assert.equal(reg.requests.length - before, 1);
});

test('a refused Basic credential on a cached state is sent once, not again after a re-ping', async (t) => {
  const reg = await fakeRegistry(t, () => 'basic');
  const dir = cacheDir();
  const first = transportFor(t, reg, dir);
  await head(first, reg);
  await first.close();
  const wrong = transportFor(t, reg, dir, basicCredential('alice', 'wrong-password'));
  const before = reg.requests.length;
  await assert.rejects(head(wrong, reg), /HTTP 401/);
  const sent = reg.requests.slice(before);
  assert.deepEqual(
    sent.map((r) => `${r.method} ${r.url}`),
    ['HEAD /v2/test/app/manifests/v1'],
    'one request, no re-ping, no second try with the refused password',
  );
});

test('a cached scheme that stops working falls back to a real ping (bare insecure host)', async (t) => {
  const reg = await fakeRegistry(t, () => 'none');
  // As if an earlier run had found HTTPS working on this insecure bare host.
  const dir = await cacheWith(reg.host, 'any', { scheme: 'https', challenges: [] });
  const tr = transportFor(t, reg, dir, basicCredential('alice', password), reg.host);
  assert.equal((await head(tr, reg)).status, 200);
  assert.equal(pings(reg), 1, 'a real ping after HTTPS failed');
  const again = transportFor(t, reg, dir, basicCredential('alice', password), reg.host);
  await head(again, reg);
  assert.equal(pings(reg), 1, 'the ping stored http for the next run');
});

test('configured http:// never uses an entry learned for the bare host', async (t) => {
  const reg = await fakeRegistry(t, () => 'none');
  const dir = await cacheWith(reg.host, 'any', { scheme: 'https', challenges: [] });
  const tr = transportFor(t, reg, dir); // http://host
  await head(tr, reg);
  assert.equal(pings(reg), 1, 'pinged over HTTP; the bare-host entry was not read');
});

test('authEndpoint (auth show --ping) really pings even when the cache has the registry', async (t) => {
  const reg = await fakeRegistry(t, () => 'basic');
  const dir = await cacheWith(reg.host, 'http', { scheme: 'http', challenges: [] });
  const tr = transportFor(t, reg, dir);
  const ep = await tr.authEndpoint(reg.host);
  assert.equal(pings(reg), 1);
  assert.equal(ep.scheme, 'basic', 'the live answer, not the cached "no auth"');
});

test('a cached state never answers a foreign origin: redirected blob storage asking for auth', async (t) => {
  const storage: FakeServer = await startServer((req, res) => {
    res
      .writeHead(401, { 'www-authenticate': `Bearer realm="${storage.origin}/token",service="storage"` })
      .end();
  });
  t.after(() => storage.close());
  const reg = await startServer((req, res) => {
    if (req.headers['authorization'] !== BASIC) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="reg"' }).end();
      return;
    }
    res.writeHead(307, { location: `${storage.origin}/blob` }).end();
  });
  t.after(() => reg.close());
  const dir = await cacheWith(reg.host, 'http', {
    scheme: 'http',
    challenges: [{ scheme: 'basic', params: { realm: 'reg' } }],
  });
  const tr = transportFor(t, reg, dir);
  await assert.rejects(
    tr.request({
      registry: reg.host,
      repository: 'test/app',
      actions: ['pull'],
      method: 'GET',
      path: '/v2/test/app/blobs/sha256:' + '1'.repeat(64),
      what: 'blob',
    }),
    (err: Error & { code?: string }) => err.code === 'AUTH_FOREIGN_ORIGIN',
  );
  assert.ok(storage.requests.length > 0);
  for (const r of storage.requests) {
    assert.equal(r.headers['authorization'], undefined);
    assert.notEqual(r.url, '/token');
  }
  assert.equal(pings(reg), 0, 'the registry answered (a redirect): the cached state stood');
});

test('a request that fails before its answer re-pings even when another request confirmed the state', async (t) => {
  let flaky = 0;
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/test/app/manifests/flaky' && flaky++ === 0) {
      // Fails only after the other request was answered (it confirmed the cached state).
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    res.writeHead(200).end();
  });
  t.after(() => reg.close());
  const dir = await cacheWith(reg.host, 'http', { scheme: 'http', challenges: [] });
  const tr = transportFor(t, reg, dir);
  const at = (tag: string) =>
    tr.request({
      registry: reg.host,
      repository: 'test/app',
      actions: ['pull'],
      method: 'HEAD',
      path: `/v2/test/app/manifests/${tag}`,
      what: `manifest test/app:${tag}`,
    });
  const [ok, recovered] = await Promise.all([at('ok'), at('flaky')]);
  assert.equal(ok.status, 200);
  assert.equal(recovered.status, 200, 'the failed first attempt was not final');
  assert.equal(pings(reg), 1);
});
