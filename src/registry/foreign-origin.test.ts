// Credentials never answer another origin's challenge (issue 14.1). A verified-TLS registry redirects a
// blob (307) to a storage origin on another port that answers 401 with its own Bearer realm; before the
// fix that challenge was treated as the registry's, and the user's Basic credentials (or identity
// token) went to the storage's realm. Two local HTTPS servers with the lab's CA-signed 127.0.0.1
// certificate stand in for registry and storage: a real registry never produces this fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/shared.js';
import {
  basicCredential,
  fakeImage,
  fastRetry,
  registryHandler,
  startServer,
  type FakeServer,
} from '../../test/registry-fake.js';
import { setLogLevel, setLogSink } from '../internal/log.js';
import { RegistryClient } from './client.js';
import { RegistryTransport } from './transport.js';
import type { RegistryCredential } from './types.js';

const certs = join(process.env['LAB_STATE'] ?? join(repoRoot, 'test/lab/state'), 'certs');
const skip = existsSync(join(certs, 'server.crt'))
  ? false
  : 'lab certificates not generated (run test/lab/lab.sh up)';
const tls = () => ({
  cert: readFileSync(join(certs, 'server.crt')),
  key: readFileSync(join(certs, 'server.key')),
});

const password = 'pw-Secret-4711';
const identityToken = 'refresh-Secret-0815';

const BASIC = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
type Image = ReturnType<typeof fakeImage>;

/** A Basic registry's answer to a request without alice's credential; true when it answered. */
function refuseWithoutBasic(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers['authorization'] === BASIC) return false;
  res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
  return true;
}

/** Sends the request for the image's layer on to the storage origin; true when it answered. */
function redirectBlob(req: IncomingMessage, res: ServerResponse, image: Image, st: FakeServer): boolean {
  if (req.url !== `/v2/test/app/blobs/${image.layerDigest}`) return false;
  res.writeHead(307, { location: `${st.origin}/blobs/${image.layerDigest}` }).end();
  return true;
}

function layerOf(image: Image) {
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: image.layerDigest,
    size: image.layer.length,
  };
}

/** Storage origin: every request is refused with a Bearer challenge naming its own token endpoint. */
async function storage(): Promise<FakeServer> {
  const s: FakeServer = await startServer((req, res) => {
    if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"storage-token-xyz"}');
      return;
    }
    res
      .writeHead(401, { 'www-authenticate': `Bearer realm="${s.origin}/token",service="storage"` })
      .end('{"errors":[{"code":"UNAUTHORIZED","message":"storage wants auth"}]}');
  }, tls());
  return s;
}

/** Everything the storage origin received, as text: no byte of any credential may be in it. */
function assertNothingSecret(s: FakeServer, secrets: string[]): void {
  assert.ok(s.requests.length > 0, 'the redirect target was reached');
  for (const r of s.requests) {
    assert.equal(r.headers['authorization'], undefined, `${r.method} ${r.url} carried Authorization`);
    assert.ok(!r.url.startsWith('/token'), `the storage's token endpoint was asked: ${r.method} ${r.url}`);
  }
  const all = JSON.stringify(s.requests);
  for (const secret of secrets) assert.ok(!all.includes(secret), `storage received ${secret}`);
}

function client(registry: FakeServer, credential: RegistryCredential): RegistryClient {
  return new RegistryClient({
    env: {},
    caFile: join(certs, 'ca.crt'),
    certsDirs: [],
    credentialResolver: async () => credential,
    retry: fastRetry,
  });
}

test(
  'Basic registry: a 401 from the blob redirect target gets no credential; error names both origins',
  { skip },
  async (t) => {
    const image = fakeImage();
    const st = await storage();
    const reg = await startServer(
      registryHandler(
        image,
        'test/app',
        (req, res) => refuseWithoutBasic(req, res) || redirectBlob(req, res, image, st),
      ),
      tls(),
    );
    t.after(() => Promise.all([st.close(), reg.close()]));
    const c = client(reg, basicCredential('alice', password));
    t.after(() => c.close());
    const layer = layerOf(image);
    await assert.rejects(c.openBlob(`${reg.host}/test/app:v1`, layer), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'AUTH_FOREIGN_ORIGIN');
      assert.ok(err.message.includes(st.origin), err.message);
      assert.ok(err.message.includes(reg.origin), err.message);
      return true;
    });
    assertNothingSecret(st, [password, Buffer.from(`alice:${password}`).toString('base64')]);
    // The registry itself saw the credential (proves the test exercises an authenticated pull).
    assert.ok(reg.requests.some((r) => r.headers['authorization'] === BASIC));
  },
);

test(
  'identity token: no refresh-token POST (nor GET) to the redirect target’s realm',
  { skip },
  async (t) => {
    const image = fakeImage();
    const st = await storage();
    let regOrigin = '';
    const reg = await startServer(
      registryHandler(image, 'test/app', (req, res) => {
        if (req.url?.startsWith('/token')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"registry-token-abc"}');
          return true;
        }
        if (req.headers['authorization'] !== 'Bearer registry-token-abc') {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${regOrigin}/token",service="reg"` }).end();
          return true;
        }
        return redirectBlob(req, res, image, st);
      }),
      tls(),
    );
    regOrigin = reg.origin;
    t.after(() => Promise.all([st.close(), reg.close()]));
    const cred: RegistryCredential = {
      kind: 'identity-token',
      username: '00000000-0000-0000-0000-000000000000',
      identityToken,
      source: { type: 'file', path: '/tmp/auth.json', description: 'test auth file' },
    };
    const c = client(reg, cred);
    t.after(() => c.close());
    const layer = layerOf(image);
    await assert.rejects(c.openBlob(`${reg.host}/test/app:v1`, layer), /AUTH_FOREIGN_ORIGIN|not registry/);
    assertNothingSecret(st, [identityToken, 'registry-token-abc']);
    // The registry's own realm got the refresh-token POST (normal flow).
    assert.ok(reg.requests.some((r) => r.method === 'POST' && r.body.includes('grant_type=refresh_token')));
  },
);

test(
  'a token realm on another host is normal: it gets the credential and is named in debug and authEndpoint',
  { skip },
  async (t) => {
    const tokens = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"tok-on-other-host"}');
    }, tls());
    const image = fakeImage();
    const reg = await startServer(
      registryHandler(image, 'test/app', (req, res) => {
        if (req.headers['authorization'] !== 'Bearer tok-on-other-host') {
          res
            .writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="reg"` })
            .end();
          return true;
        }
        return false;
      }),
      tls(),
    );
    t.after(() => Promise.all([tokens.close(), reg.close()]));
    const lines: string[] = [];
    const prev = setLogSink({ write: (l) => lines.push(l) });
    setLogLevel('debug');
    t.after(() => {
      setLogSink(prev);
      setLogLevel('info');
    });
    const tr = new RegistryTransport({
      env: {},
      caFile: join(certs, 'ca.crt'),
      certsDirs: [],
      credentialResolver: async () => basicCredential('alice', password),
      retry: fastRetry,
    });
    t.after(() => tr.close());
    const res = await tr.request({
      registry: reg.host,
      repository: 'test/app',
      actions: ['pull'],
      method: 'GET',
      path: '/v2/test/app/manifests/v1',
      what: 'manifest test/app:v1',
    });
    await res.body.dump();
    assert.equal(res.status, 200);
    // Docker and containerd send the credential to the registry's own realm wherever it is.
    const basic = Buffer.from(`alice:${password}`).toString('base64');
    assert.ok(tokens.requests.some((r) => r.headers['authorization'] === `Basic ${basic}`));
    const debug = lines.join('');
    assert.ok(debug.includes(`token server on another host: ${tokens.host}`), debug);
    assert.ok(!debug.includes(password) && !debug.includes(basic));
    const ep = await tr.authEndpoint(reg.host);
    assert.equal(ep.scheme, 'bearer');
    assert.equal(ep.realmHost, tokens.host);
    assert.equal(ep.realmOnOtherHost, true);
  },
);

test('a redirected refresh-token POST is not re-sent to another origin', { skip }, async (t) => {
  const st = await storage();
  const realm = await startServer((_req, res) => {
    res.writeHead(307, { location: `${st.origin}/token` }).end();
  }, tls());
  t.after(() => Promise.all([st.close(), realm.close()]));
  const { fetchToken } = await import('./token.js');
  const tr = new RegistryTransport({
    env: {},
    caFile: join(certs, 'ca.crt'),
    certsDirs: [],
    retry: fastRetry,
  });
  t.after(() => tr.close());
  await assert.rejects(
    fetchToken(tr.http, {
      realm: `${realm.origin}/token`,
      service: 'reg',
      scopes: ['repository:test/app:pull'],
      credential: {
        kind: 'identity-token',
        username: '<token>',
        identityToken,
        source: { type: 'file', description: 'test' },
      },
      clientId: 'contrast',
      registry: 'reg',
      allowHttpRealm: false,
    }),
    /refusing to send it to another origin/,
  );
  assert.ok(!JSON.stringify(st.requests).includes(identityToken));
});

test(
  "a /v2/ ping redirected to another origin: that origin's challenge is ignored, not answered",
  { skip },
  async (t) => {
    const image = fakeImage();
    const st = await storage();
    const reg = await startServer(
      registryHandler(image, 'test/app', (req, res) => {
        if (req.url === '/v2/') {
          res.writeHead(307, { location: `${st.origin}/v2/` }).end();
          return true;
        }
        return refuseWithoutBasic(req, res);
      }),
      tls(),
    );
    t.after(() => Promise.all([st.close(), reg.close()]));
    const c = client(reg, basicCredential('alice', password));
    t.after(() => c.close());
    const m = await c.fetchManifest(`${reg.host}/test/app:v1`);
    assert.equal(m.digest, image.manifestDigest);
    assertNothingSecret(st, [password, Buffer.from(`alice:${password}`).toString('base64')]);
  },
);

test(
  'login check: the OAuth2 password grant is not re-sent to another origin by a redirect',
  { skip },
  async (t) => {
    const st = await storage();
    let regOrigin = '';
    const reg = await startServer((req, res) => {
      if (req.url?.startsWith('/token') && req.method === 'GET') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"unsupported"}');
        return;
      }
      if (req.url?.startsWith('/token')) {
        res.writeHead(307, { location: `${st.origin}/token` }).end();
        return;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${regOrigin}/token",service="reg"` }).end();
    }, tls());
    regOrigin = reg.origin;
    t.after(() => Promise.all([st.close(), reg.close()]));
    const { verifyLogin } = await import('./verify-login.js');
    await assert.rejects(
      verifyLogin(
        reg.host,
        { username: 'alice', password },
        { env: {}, caFile: join(certs, 'ca.crt'), certsDirs: [] },
      ),
    );
    assert.ok(
      reg.requests.some((r) => r.method === 'POST'),
      'the password grant was tried at the registry',
    );
    assert.ok(!JSON.stringify(st.requests).includes(password), 'storage received the password');
  },
);
