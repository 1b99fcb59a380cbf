// `contrast login` checks credentials before storing them: Basic registry b, token registry c (lab),
// a token server that only takes identity tokens and a registry that asks for nothing (local
// fakes), TLS failures; `--no-verify` stores without asking. Nothing secret is ever printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeRegExp, requireLab } from './helpers/lab.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { verifyLogin } from '../src/registry/verify-login.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'contrast-login-'));
}

function assertNoSecret(outputs: CliResult[], secrets: string[]): void {
  for (const o of outputs) {
    for (const s of secrets) {
      assert.ok(!o.stdout.includes(s) && !o.stderr.includes(s), `secret leaked: ${o.stderr}`);
      const b64 = Buffer.from(s).toString('base64');
      assert.ok(!o.stderr.includes(b64), 'base64 of a secret leaked');
    }
  }
}

test('lab: right password is verified and stored, wrong password is refused and not stored (b: Basic, c: token)', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = tempDir();
  const env = { ...process.env, HOME: dir, NODE_EXTRA_CA_CERTS: lab.caCert };
  const outputs: CliResult[] = [];
  for (const [host, method] of [
    [lab.b, /accepted the credentials \(Basic\)/],
    [lab.c, /token server of .* accepted the credentials/],
  ] as const) {
    const authFile = join(dir, `${host.replace(':', '_')}.json`);
    const wrong = await runCli(
      ['--log-level', 'debug', 'login', host, '-u', lab.user, '--password-stdin', '--authfile', authFile],
      {
        env,
        input: 'not-the-password-77',
      },
    );
    outputs.push(wrong);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      new RegExp(
        `registry ${host.replace(/\./g, '\\.')} rejected the credentials for user "alice".*nothing was stored`,
      ),
    );
    assert.match(wrong.stderr, /hint: check the user name and the password/);
    assert.equal(existsSync(authFile), false, 'nothing written after a rejected login');

    const right = await runCli(
      ['--log-level', 'debug', 'login', host, '-u', lab.user, '--password-stdin', '--authfile', authFile],
      {
        env,
        input: `${lab.pass}\n`,
      },
    );
    outputs.push(right);
    assert.equal(right.code, 0, right.stderr);
    assert.equal(right.stdout, 'Login Succeeded\n');
    assert.match(right.stderr, method);
    const stored = JSON.parse(readFileSync(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(stored.auths[host]!.auth, Buffer.from(`${lab.user}:${lab.pass}`).toString('base64'));

    const skipped = await runCli(
      ['login', host, '-u', lab.user, '--password-stdin', '--no-verify', '--authfile', join(dir, 'nv.json')],
      {
        env,
        input: 'unchecked-pass-55',
      },
    );
    outputs.push(skipped);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.doesNotMatch(skipped.stderr, /accepted/);
  }
  assertNoSecret(outputs, [lab.pass, 'not-the-password-77', 'unchecked-pass-55']);
});

test('lab: TLS failure is named, with the ways to trust the CA and --no-verify', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  delete env['NODE_EXTRA_CA_CERTS'];
  const r = await runCli(
    ['login', lab.b, '-u', lab.user, '--password-stdin', '--authfile', join(dir, 'a.json')],
    { env, input: lab.pass },
  );
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `cannot verify the login: .*TLS verification of ${escapeRegExp(lab.b)} failed .*nothing was stored`,
    ),
  );
  assert.match(r.stderr, /NODE_EXTRA_CA_CERTS.*--no-verify/);
  // The hint's --ca-file works: the same login verifies against the lab CA and is stored.
  const withCa = await runCli(
    [
      'login',
      lab.b,
      '-u',
      lab.user,
      '--password-stdin',
      '--ca-file',
      lab.caCert,
      '--authfile',
      join(dir, 'a.json'),
    ],
    {
      env,
      input: lab.pass,
    },
  );
  assert.equal(withCa.code, 0, withCa.stderr);
  assertNoSecret([r, withCa], [lab.pass]);
});

async function fakeRegistry(
  t: import('node:test').TestContext,
  handler: (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
    base: string,
  ) => void,
): Promise<string> {
  let base = '';
  const server: Server = createServer((req, res) => handler(req, res, base));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return base;
}

test('identity-token-only token server: says so instead of "wrong password"', async (t) => {
  const host = await fakeRegistry(t, (req, res, base) => {
    if (req.url === '/v2/') {
      res
        .writeHead(401, { 'www-authenticate': `Bearer realm="http://${base}/oauth2/token",service="fake"` })
        .end();
    } else if (req.url?.startsWith('/oauth2/token') && req.method === 'GET') {
      res
        .writeHead(405, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNSUPPORTED","message":"use POST"}]}');
    } else if (req.url?.startsWith('/oauth2/token') && req.method === 'POST') {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":"unsupported_grant_type","error_description":"only refresh_token is supported"}');
    } else res.writeHead(404).end();
  });
  const opts = { insecureRegistries: [`http://${host}`] };
  await assert.rejects(
    verifyLogin(host, { username: 'u', password: 'pw-identity-only-1' }, opts),
    (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'LOGIN_IDENTITY_TOKEN_ONLY');
      assert.match(err.message, /does not accept a user name and password/);
      assert.match(
        err.message,
        /Basic token request \(HTTP 405.*\) and the OAuth2 password grant \(HTTP 400: unsupported_grant_type: only refresh_token is supported\)/,
      );
      assert.match(err.hint ?? '', /az acr login/);
      assert.ok(!err.message.includes('pw-identity-only-1'));
      return true;
    },
  );
});

test('OAuth2-only token server that accepts the password grant; registry without auth', async (t) => {
  const host = await fakeRegistry(t, (req, res, base) => {
    if (req.url === '/v2/') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${base}/token",service="fake"` }).end();
    } else if (req.url?.startsWith('/token') && req.method === 'GET') {
      res.writeHead(404).end();
    } else if (req.url === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const f = new URLSearchParams(body);
        if (
          f.get('grant_type') === 'password' &&
          f.get('username') === 'u' &&
          f.get('password') === 'right-pw-22'
        ) {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end('{"access_token":"at-secret-1","refresh_token":"rt-secret-1"}');
        } else res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      });
    } else res.writeHead(404).end();
  });
  const opts = { insecureRegistries: [`http://${host}`] };
  const ok = await verifyLogin(host, { username: 'u', password: 'right-pw-22' }, opts);
  assert.equal(ok.method, 'oauth2-password');
  await assert.rejects(
    verifyLogin(host, { username: 'u', password: 'wrong-pw-22' }, opts),
    (err: Error & { code?: string }) => err.code === 'LOGIN_REJECTED',
  );

  const open = await fakeRegistry(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
  );
  const none = await verifyLogin(
    open,
    { username: 'u', password: 'x-pw-33' },
    { insecureRegistries: [`http://${open}`] },
  );
  assert.equal(none.method, 'none');
  assert.match(none.detail, /asks for no credentials/);
});
