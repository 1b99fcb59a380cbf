// The credential a user's files resolve to must actually open the lab's Basic-auth registry:
// resolve from a guide-style DOCKER_CONFIG file and from `contrast login`, then call the registry.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { after, it } from 'node:test';
import { forgetCredential, resolveCredential, storeCredential } from '../src/credentials/index.js';
import { setLogLevel } from '../src/internal/log.js';
import { b64, credentialFixture, type CredentialFixture } from './credentials-fixture.js';
import { runCli } from './helpers/cli.js';
import { requireLab } from './helpers/lab.js';

const fixtures: CredentialFixture[] = [];
after(() => {
  for (const f of fixtures) f.cleanup();
});

function status(host: string, ca: string, authorization?: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `https://${host}/v2/test/app/manifests/v1`,
      {
        method: 'HEAD',
        ca: readFileSync(ca),
        headers: {
          accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        res.resume();
        resolvePromise(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

it('resolved lab credentials open the Basic-auth registry; anonymous does not', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  setLogLevel('silent');
  const fx = credentialFixture();
  fixtures.push(fx);
  const file = fx.write('tmp.guide', { auths: { [lab.b]: { auth: b64(`${lab.user}:${lab.pass}`) } } });
  const c = await resolveCredential(`${lab.b}/test/app:v1`, { env: { ...fx.env, DOCKER_CONFIG: file } });
  assert.equal(c.kind, 'basic');
  const basic = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  assert.equal(await status(lab.b, lab.caCert, basic), 200);
  assert.equal(await status(lab.b, lab.caCert), 401);

  // the same through login → resolve, with the registry written as a URL
  await storeCredential(`https://${lab.b}/`, { username: lab.user, password: lab.pass }, { env: fx.env });
  forgetCredential();
  const stored = await resolveCredential(lab.b, { env: fx.env });
  assert.equal(
    await status(
      lab.b,
      lab.caCert,
      `Basic ${Buffer.from(`${stored.username}:${stored.password}`).toString('base64')}`,
    ),
    200,
  );
});

it('auth show --ping names the token server on another host (registry c) and the Basic registry (b)', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const fx = credentialFixture();
  fixtures.push(fx);
  const c = await runCli(['auth', 'show', lab.c, '--ping', '--ca-file', lab.caCert], { env: fx.env });
  assert.equal(c.code, 0, c.stderr);
  const realmHost = new URL(lab.tokenRealm).host;
  assert.match(c.stdout, new RegExp(`sent to: +bearer token server ${lab.tokenRealm.replace(/\./g, '\\.')}`));
  assert.ok(c.stdout.includes(`${realmHost} receives the credential`), c.stdout);
  const b = await runCli(['auth', 'show', lab.b, '--ping', '--json', '--ca-file', lab.caCert], {
    env: fx.env,
  });
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual((JSON.parse(b.stdout) as { auth: unknown }).auth, {
    registry: `https://${lab.b}`,
    scheme: 'basic',
  });
});
