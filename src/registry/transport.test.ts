// Auth flows against small local servers: a registry answering Bearer/Basic challenges and a token server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  anonymous,
  basicCredential,
  fastRetry,
  startServer,
  type FakeServer,
} from '../../test/registry-fake.js';
import { RegistryTransport } from './transport.js';
import type { RegistryCredential } from './types.js';

function bearerRegistry(
  realm: () => string,
  accept: (auth: string | undefined, req: IncomingMessage, res: ServerResponse) => boolean,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers['authorization'];
    if (req.url === '/v2/') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm()}",service="fake-svc"` }).end();
      return;
    }
    if (accept(auth, req, res)) return;
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="${realm()}",service="fake-svc",scope="repository:test/app:pull"`,
    });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
  };
}

async function tokenServer(
  answer?: (req: IncomingMessage, res: ServerResponse, body: string) => boolean,
): Promise<FakeServer> {
  let n = 0;
  return startServer((req, res, body) => {
    if (answer && answer(req, res, body)) return;
    n++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: `tok-${n}-secretvalue`, expires_in: 300 }));
  });
}

function transport(reg: FakeServer, credential: RegistryCredential) {
  return new RegistryTransport({
    insecureRegistries: [`http://${reg.host}`],
    credentialResolver: async () => credential,
    retry: fastRetry,
  });
}

const get = (t: RegistryTransport, reg: FakeServer, repo = 'test/app') =>
  t.request({
    registry: reg.host,
    repository: repo,
    actions: ['pull'],
    method: 'GET',
    path: `/v2/${repo}/manifests/v1`,
    what: `manifest ${repo}:v1`,
  });

test('bearer GET flow: Basic on the token request, account, service, scope; token reused', async (t) => {
  const tokens = await tokenServer();
  const reg = await startServer(
    bearerRegistry(
      () => `${tokens.origin}/token`,
      (auth, _req, res) => {
        if (auth === 'Bearer tok-1-secretvalue') return !!res.writeHead(200).end('ok');
        return false;
      },
    ),
  );
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const tr = transport(reg, basicCredential('alice', 'pw'));
  t.after(() => tr.close());
  const res = await get(tr, reg);
  assert.equal(res.status, 200);
  await res.body.dump();
  await (await get(tr, reg)).body.dump();
  assert.equal(tokens.requests.length, 1, 'token cached for the same scope');
  const q = new URL(tokens.requests[0]?.url ?? '', tokens.origin).searchParams;
  assert.deepEqual(q.getAll('scope'), ['repository:test/app:pull']);
  assert.equal(q.get('service'), 'fake-svc');
  assert.equal(q.get('account'), 'alice');
  assert.equal(
    tokens.requests[0]?.headers['authorization'],
    `Basic ${Buffer.from('alice:pw').toString('base64')}`,
  );
  assert.equal(reg.requests[0]?.headers['authorization'], undefined, 'ping is unauthenticated');
  assert.equal(res.credential.source.description, 'test auth file');
});

test('anonymous token GET sends no Authorization', async (t) => {
  const tokens = await tokenServer();
  const reg = await startServer(
    bearerRegistry(
      () => `${tokens.origin}/token`,
      (auth, _q, res) => !!(auth?.startsWith('Bearer ') && res.writeHead(200).end()),
    ),
  );
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const tr = transport(reg, anonymous);
  t.after(() => tr.close());
  await (await get(tr, reg)).body.dump();
  assert.equal(tokens.requests[0]?.headers['authorization'], undefined);
  assert.equal(new URL(tokens.requests[0]?.url ?? '', tokens.origin).searchParams.get('account'), null);
});

test('insufficient_scope: challenged scope merged first, one re-auth, then remembered', async (t) => {
  const tokens = await tokenServer((req, res) => {
    const scopes = new URL(req.url ?? '', 'http://x').searchParams.getAll('scope');
    const token = scopes.includes('repository:other/base:pull') ? 'wide-token-xyz' : 'narrow-token-xyz';
    return !!res.writeHead(200).end(JSON.stringify({ token }));
  });
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/')
      return void res
        .writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="s"` })
        .end();
    if (req.headers['authorization'] === 'Bearer wide-token-xyz') return void res.writeHead(200).end('ok');
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="${tokens.origin}/token",service="s",scope="repository:other/base:pull",error="insufficient_scope"`,
    });
    res.end();
  });
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const tr = transport(reg, basicCredential('alice', 'pw'));
  t.after(() => tr.close());
  await (await get(tr, reg)).body.dump();
  assert.equal(tokens.requests.length, 2);
  const second = new URL(tokens.requests[1]?.url ?? '', tokens.origin).searchParams.getAll('scope');
  assert.deepEqual(second, ['repository:other/base:pull', 'repository:test/app:pull']);
  const before = reg.requests.length;
  await (await get(tr, reg)).body.dump();
  assert.equal(
    reg.requests.length,
    before + 1,
    'second request goes straight through with the learned scope set',
  );
  assert.equal(tokens.requests.length, 2);
});

test('never loops: a registry that keeps answering 401 fails after one re-auth, quoting the server', async (t) => {
  const tokens = await tokenServer();
  const reg = await startServer(
    bearerRegistry(
      () => `${tokens.origin}/token`,
      () => false,
    ),
  );
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const tr = transport(reg, basicCredential('alice', 'pw', 'auth file /home/u/.docker/config.json'));
  t.after(() => tr.close());
  await assert.rejects(get(tr, reg), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(
        `manifest test/app:v1: registry ${reg.host} answered HTTP 401: UNAUTHORIZED: authentication required`,
      ),
    );
    assert.match(err.message, /credential: basic from auth file \/home\/u\/.docker\/config.json/);
    assert.doesNotMatch(err.message, /pw|tok-/);
    return true;
  });
  assert.equal(reg.requests.filter((r) => r.url !== '/v2/').length, 2);
});

test('rejected credentials at the token server: error names registry, source and server message', async (t) => {
  const tokens = await tokenServer(
    (_req, res) =>
      !!res
        .writeHead(401, { 'www-authenticate': 'Basic realm="t"' })
        .end('{"error":"invalid_grant","error_description":"bad username or password"}'),
  );
  const reg = await startServer(
    bearerRegistry(
      () => `${tokens.origin}/token`,
      () => false,
    ),
  );
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const tr = transport(reg, basicCredential('alice', 'wrong', 'credential helper docker-credential-pass'));
  t.after(() => tr.close());
  await assert.rejects(get(tr, reg), (err: Error & { code?: string; hint?: string }) => {
    assert.match(err.message, new RegExp(`for registry ${reg.host} rejected the credentials`));
    assert.match(err.message, /basic from credential helper docker-credential-pass/);
    assert.match(err.message, /HTTP 401: invalid_grant: bad username or password/);
    assert.equal(err.code, 'AUTH_REJECTED');
    return true;
  });
});

test('rejected Basic credentials at the registry: one request, clear error', async (t) => {
  const reg = await startServer((req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="reg"', 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }));
  });
  t.after(() => reg.close());
  const tr = transport(reg, basicCredential('alice', 'wrong', '/tmp/auth.json, key "x"'));
  t.after(() => tr.close());
  await assert.rejects(
    get(tr, reg),
    /registry 127\.0\.0\.1:\d+ answered HTTP 401: UNAUTHORIZED: invalid username or password \(credential: basic from \/tmp\/auth.json, key "x"\)/,
  );
  assert.equal(reg.requests.length, 2, 'ping + one request, no retry with the same credentials');
});

test('token endpoint down: error names the endpoint after bounded retries', async (t) => {
  const dead = await startServer(() => undefined);
  const deadOrigin = dead.origin;
  await dead.close();
  const reg = await startServer(
    bearerRegistry(
      () => `${deadOrigin}/token`,
      () => false,
    ),
  );
  t.after(() => reg.close());
  const tr = transport(reg, anonymous);
  t.after(() => tr.close());
  await assert.rejects(
    get(tr, reg),
    new RegExp(
      `token request for ${reg.host}: cannot reach ${deadOrigin} after 3 attempts \\(.*ECONNREFUSED`,
    ),
  );
});

test('identity token: OAuth2 refresh POST with space-joined scope and client_id', async (t) => {
  const tokens = await tokenServer((req, res, body) => {
    if (req.method !== 'POST') return false;
    const f = new URLSearchParams(body);
    const ok = f.get('grant_type') === 'refresh_token' && f.get('refresh_token') === 'refresh-abc-123';
    return !!res
      .writeHead(ok ? 200 : 401)
      .end(ok ? '{"access_token":"posted-token-1","expires_in":300}' : '{"error":"invalid_grant"}');
  });
  const reg = await startServer(
    bearerRegistry(
      () => `${tokens.origin}/token`,
      (auth, _q, res) => auth === 'Bearer posted-token-1' && !!res.writeHead(200).end(),
    ),
  );
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const cred: RegistryCredential = {
    kind: 'identity-token',
    username: 'alice',
    identityToken: 'refresh-abc-123',
    source: { type: 'file', description: 'auth.json' },
  };
  const tr = transport(reg, cred);
  t.after(() => tr.close());
  const res = await tr.request({
    registry: reg.host,
    repository: 'test/app',
    actions: ['pull', 'push'],
    extraScopes: ['repository:other/base:pull'],
    method: 'GET',
    path: '/v2/test/app/manifests/v1',
    what: 'x',
  });
  await res.body.dump();
  const form = new URLSearchParams(tokens.requests[0]?.body);
  assert.equal(tokens.requests[0]?.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(form.get('scope'), 'repository:test/app:pull,push repository:other/base:pull');
  assert.equal(form.get('service'), 'fake-svc');
  assert.equal(form.get('client_id'), 'contrast');
});

test('identity token: POST 404 falls back to GET with Basic user:identitytoken', async (t) => {
  const tokens = await tokenServer((req, res) =>
    req.method === 'POST' ? !!res.writeHead(404).end('not here') : false,
  );
  const reg = await startServer(
    bearerRegistry(
      () => `${tokens.origin}/token`,
      (auth, _q, res) => !!(auth?.startsWith('Bearer tok-') && res.writeHead(200).end()),
    ),
  );
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const cred: RegistryCredential = {
    kind: 'identity-token',
    username: 'alice',
    identityToken: 'idtok-999',
    source: { type: 'file', description: 'auth.json' },
  };
  const tr = transport(reg, cred);
  t.after(() => tr.close());
  await (await get(tr, reg)).body.dump();
  assert.deepEqual(
    tokens.requests.map((r) => r.method),
    ['POST', 'GET'],
  );
  assert.equal(
    tokens.requests[1]?.headers['authorization'],
    `Basic ${Buffer.from('alice:idtok-999').toString('base64')}`,
  );
});

test('registry token is sent as is; a 401 says it was rejected', async (t) => {
  const reg = await startServer(
    bearerRegistry(
      () => 'http://127.0.0.1:1/never',
      (auth, _q, res) => auth === 'Bearer reg-token-1' && !!res.writeHead(200).end(),
    ),
  );
  t.after(() => reg.close());
  const ok = transport(reg, {
    kind: 'registry-token',
    username: null,
    registryToken: 'reg-token-1',
    source: { type: 'file', description: 'f' },
  });
  t.after(() => ok.close());
  assert.equal((await get(ok, reg)).status, 200);
  const bad = transport(reg, {
    kind: 'registry-token',
    username: null,
    registryToken: 'reg-token-2',
    source: { type: 'file', description: 'f' },
  });
  t.after(() => bad.close());
  await assert.rejects(get(bad, reg), (err: Error & { hint?: string }) =>
    /registry token/.test(err.hint ?? ''),
  );
});

test('401 without WWW-Authenticate falls back to the ping challenge; invalid_token refetches once', async (t) => {
  let revoked = false;
  const tokens = await tokenServer();
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/')
      return void res
        .writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="s"` })
        .end();
    const auth = req.headers['authorization'];
    if (auth === 'Bearer tok-1-secretvalue' && !revoked) return void res.writeHead(200).end();
    if (auth === 'Bearer tok-1-secretvalue') {
      return void res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${tokens.origin}/token",service="s",error="invalid_token"`,
        })
        .end();
    }
    if (auth === 'Bearer tok-2-secretvalue') return void res.writeHead(200).end();
    res.writeHead(401).end(); // gcr.io style: no header
  });
  t.after(() => Promise.all([tokens.close(), reg.close()]));
  const tr = transport(reg, anonymous);
  t.after(() => tr.close());
  await (await get(tr, reg)).body.dump();
  revoked = true;
  await (await get(tr, reg)).body.dump();
  assert.equal(tokens.requests.length, 2);
});

test('plain-HTTP token realm for an HTTPS registry is refused (unit of fetchToken)', async () => {
  const { fetchToken } = await import('./token.js');
  const tr = new RegistryTransport({});
  await assert.rejects(
    fetchToken(tr.http, {
      realm: 'http://evil.example/token',
      service: 's',
      scopes: [],
      credential: anonymous,
      clientId: 'c',
      registry: 'r.example',
      allowHttpRealm: false,
    }),
    /wants credentials sent to plain-HTTP token realm http:\/\/evil.example; refusing/,
  );
  await tr.close();
});

test('an absolute URL on another origin (upload Location) never receives the registry Authorization', async (t) => {
  const storage = await startServer((_req, res) => void res.writeHead(202).end());
  const reg = await startServer((req, res) => {
    if (req.headers['authorization'] === `Basic ${Buffer.from('alice:pw').toString('base64')}`)
      return void res.writeHead(202).end();
    res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
  });
  t.after(() => Promise.all([storage.close(), reg.close()]));
  const tr = new RegistryTransport({
    insecureRegistries: [`http://${reg.host}`, `http://${storage.host}`],
    credentialResolver: async () => basicCredential('alice', 'pw'),
    retry: fastRetry,
  });
  t.after(() => tr.close());
  const put = (path: string) =>
    tr.request({
      registry: reg.host,
      repository: 'a/b',
      actions: ['pull', 'push'],
      method: 'PUT',
      path,
      body: 'data',
      what: 'upload',
    });
  assert.equal((await put(`${reg.origin}/v2/a/b/blobs/uploads/1?digest=x`)).status, 202);
  assert.ok(reg.requests.at(-1)?.headers['authorization']);
  assert.equal((await put(`${storage.origin}/upload/1?digest=x`)).status, 202);
  assert.equal(storage.requests[0]?.headers['authorization'], undefined);
});

test('Docker Hub names map to its API host', async () => {
  const { apiHost } = await import('./transport.js');
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('index.docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('ghcr.io'), 'ghcr.io');
});
