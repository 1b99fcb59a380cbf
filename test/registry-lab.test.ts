// Integration against the registry lab's three real distribution registries (HTTP anonymous,
// HTTPS+Basic, HTTPS+token), with credentials found by the real resolver from real auth files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refreshToken, requireLab, seed, type Lab } from './helpers/lab.js';
import { runCli } from './helpers/cli.js';
import { RegistryClient, type RegistryClientOptions } from '../src/registry/index.js';
import { setLogSink, setLogLevel, type LogSink } from '../src/internal/log.js';

function labClient(lab: Lab, extra: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({
    caFile: lab.caCert,
    insecureRegistries: [lab.a],
    credentials: { authFile: lab.authFile, env: {} },
    registriesConfig: { path: undefined, registries: [] },
    ...extra,
  });
}

function tempAuthFile(content: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'contrast-auth-'));
  const file = join(dir, 'auth.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

test('all three lab registries: OCI manifest without mediaType, same digest everywhere', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const c = labClient(lab);
  t.after(() => c.close());
  for (const [host, kind] of [
    [lab.a, 'anonymous'],
    [lab.b, 'basic'],
    [lab.c, 'basic'],
  ] as const) {
    const img = await c.resolveImage(`${host}/test/app:v1`);
    assert.equal(img.digest, seed.appV1, host);
    assert.equal(img.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(img.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(img.config.config?.User, 'app');
    assert.deepEqual(img.config.config?.Entrypoint, ['/app/hello.sh']);
    assert.equal(img.layers.length, 2);
    assert.equal(img.credential.kind, kind, host);
    if (kind === 'basic') assert.equal(img.credential.source.path, lab.authFile);
  }
});

test('Docker v2 manifest, OCI index and Docker list; --platform linux/arm64', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const c = labClient(lab);
  t.after(() => c.close());
  for (const host of [lab.a, lab.b, lab.c]) {
    const docker = await c.resolveImage(`${host}/test/app:v1-docker`);
    assert.equal(docker.digest, seed.appV1Docker);
    assert.equal(docker.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    const oci = await c.resolveImage(`${host}/test/multi:v1`);
    assert.equal(oci.indexDigest, seed.multiV1);
    assert.equal(oci.digest, seed.appV1);
    const arm = await c.resolveImage(`${host}/test/multi:v1`, {
      platform: { os: 'linux', architecture: 'arm64' },
    });
    assert.equal(arm.digest, seed.appV1Arm64);
    assert.deepEqual(arm.platform, { os: 'linux', architecture: 'arm64' });
    assert.ok(arm.config.config?.Env?.includes('LAB_IMAGE_ARCH=arm64'));
    const list = await c.resolveImage(`${host}/test/multi:v1-docker`, {
      platform: { os: 'linux', architecture: 'aarch64' },
    });
    assert.equal(list.indexDigest, seed.multiV1Docker);
    assert.equal(list.platform.architecture, 'arm64');
    const byDigest = await c.resolveImage(`${host}/test/multi@${seed.multiV1}`);
    assert.equal(byDigest.digest, seed.appV1);
  }
});

test('a single arm64 manifest resolves as is, with a warning when amd64 was wanted', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const lines: string[] = [];
  const prev = setLogSink({ write: (l) => lines.push(l) } satisfies LogSink);
  t.after(() => setLogSink(prev));
  const c = labClient(lab);
  t.after(() => c.close());
  const img = await c.resolveImage(`${lab.c}/test/app:v1-arm64`);
  assert.equal(img.digest, seed.appV1Arm64);
  assert.match(lines.join(''), /single-platform image for linux\/arm64, not linux\/amd64/);
});

test('layer streams from registry c are digest-verified', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const c = labClient(lab);
  t.after(() => c.close());
  const img = await c.resolveImage(`${lab.c}/test/multi:v1-docker`);
  for (const layer of img.layers) {
    const h = createHash('sha256');
    for await (const chunk of await c.openBlob(img.reference, layer)) h.update(chunk as Buffer);
    assert.equal(`sha256:${h.digest('hex')}`, layer.digest);
  }
});

test('registry c: anonymous pull of public/*, clear error for private repositories', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const c = labClient(lab, { credentials: { authFile: tempAuthFile({ auths: {} }), env: {} } });
  t.after(() => c.close());
  const pub = await c.resolveImage(`${lab.c}/public/hello:v1`);
  assert.equal(pub.digest, seed.appV1);
  assert.equal(pub.credential.kind, 'anonymous');
  await assert.rejects(
    c.resolveImage(`${lab.c}/test/app:v1`),
    (err: Error & { code?: string; hint?: string }) => {
      assert.match(err.message, new RegExp(`registry ${lab.c} answered HTTP 401`));
      assert.match(err.message, /UNAUTHORIZED/);
      assert.match(err.message, /credential: anonymous/);
      assert.equal(err.code, 'AUTH_REQUIRED');
      return true;
    },
  );
});

test('wrong password: the error names registry, auth file and server message', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const bad = Buffer.from('alice:not-the-password').toString('base64');
  const file = tempAuthFile({ auths: { [lab.b]: { auth: bad }, [lab.c]: { auth: bad } } });
  const c = labClient(lab, { credentials: { authFile: file, env: {} } });
  t.after(() => c.close());
  await assert.rejects(c.resolveImage(`${lab.b}/test/app:v1`), (err: Error) => {
    assert.match(err.message, new RegExp(`registry ${lab.b} answered HTTP 401`));
    assert.ok(err.message.includes(file), err.message);
    assert.doesNotMatch(err.message, /not-the-password/);
    return true;
  });
  await assert.rejects(c.resolveImage(`${lab.c}/test/app:v1`), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(`token server https://127.0.0.1:\\d+/token for registry ${lab.c} rejected the credentials`),
    );
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /HTTP 401/);
    return true;
  });
});

test('bob:builder (pull only) can pull from c', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const file = tempAuthFile({ auths: { [lab.c]: { auth: Buffer.from('bob:builder').toString('base64') } } });
  const c = labClient(lab, { credentials: { authFile: file, env: {} } });
  t.after(() => c.close());
  assert.equal((await c.resolveImage(`${lab.c}/test/app:v1`)).credential.username, 'bob');
});

test('identity token in the auth file: OAuth2 refresh-token POST against the lab token server', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const rt = await refreshToken(lab);
  const file = tempAuthFile({
    auths: { [lab.c]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: rt } },
  });
  const c = labClient(lab, { credentials: { authFile: file, env: {} } });
  t.after(() => c.close());
  const img = await c.resolveImage(`${lab.c}/test/multi:v1`, {
    platform: { os: 'linux', architecture: 'arm64' },
  });
  assert.equal(img.digest, seed.appV1Arm64);
  assert.equal(img.credential.kind, 'identity-token');
  const log = readFileSync(join(lab.state, 'logs/token.log'), 'utf8')
    .trim()
    .split('\n')
    .slice(-20)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(
    log.some((e) => e['grant_type'] === 'refresh_token' && e['client_id'] === 'contrast'),
    'the lab token server saw a refresh_token grant from client_id=contrast',
  );
  // A bad refresh token: POST 401, GET fallback 401, one clear error.
  const badFile = tempAuthFile({
    auths: {
      [lab.c]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: 'not-a-valid-refresh-token' },
    },
  });
  const c2 = labClient(lab, { credentials: { authFile: badFile, env: {} } });
  t.after(() => c2.close());
  await assert.rejects(
    c2.resolveImage(`${lab.c}/test/app:v1`),
    /rejected the credentials \(identity-token from .*\): HTTP 401.*refresh-token POST had answered 401: invalid_grant/,
  );
});

const secretPatterns = (lab: Lab, extra: string[]) => [
  lab.pass,
  Buffer.from(`${lab.user}:${lab.pass}`).toString('base64'),
  ...extra,
];

test('contrast image inspect: text, --json, --raw on a, b and c; debug logs hold no secret', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const rt = await refreshToken(lab);
  const idFile = tempAuthFile({
    auths: { [lab.c]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: rt } },
  });
  const env = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: lab.caCert,
    REGISTRY_AUTH_FILE: lab.authFile,
    DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'dc-')),
  };
  const base = ['image', 'inspect', '--insecure-registry', lab.a];

  const json = await runCli([...base, '--json', `${lab.a}/test/multi:v1`, '--platform', 'linux/arm64'], {
    env,
  });
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as Record<string, unknown> & {
    platform: object;
    config: Record<string, unknown>;
    layers: unknown[];
    credential: { kind: string };
  };
  assert.equal(out['digest'], seed.appV1Arm64);
  assert.deepEqual(out.platform, { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(out.config['Entrypoint'], ['/app/hello.sh']);
  assert.equal(out.config['WorkingDir'], '/app');
  assert.equal(out.layers.length, 2);
  assert.equal(out.credential.kind, 'anonymous');

  const raw = await runCli([...base, '--raw', `${lab.b}/test/multi:v1-docker`, '--authfile', lab.authFile], {
    env,
  });
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, seed.multiV1Docker);

  for (const [ref, authfile] of [
    [`${lab.b}/test/app:v1`, lab.authFile],
    [`${lab.c}/test/app:v1-docker`, lab.authFile],
    [`${lab.c}/test/multi:v1`, idFile],
  ] as const) {
    const r = await runCli(['--log-level', 'debug', ...base, '--authfile', authfile, ref], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Digest: +sha256:/);
    assert.match(r.stdout, /Credential: +(basic|identity-token)/);
    assert.match(r.stderr, /auth: (basic|bearer)/, 'debug shows the auth scheme');
    assert.match(
      r.stderr,
      new RegExp(authfile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      'debug shows the credential source',
    );
    for (const s of secretPatterns(lab, [rt]))
      assert.ok(!r.stderr.includes(s) && !r.stdout.includes(s), `secret leaked for ${ref}`);
    assert.doesNotMatch(r.stderr, /eyJ[A-Za-z0-9_-]{10,}/, 'no JWT in debug output');
  }
});

test('registries.conf mirror: docker.io-style name fetched from lab registry a, name kept', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = mkdtempSync(join(tmpdir(), 'regconf-'));
  const conf = join(dir, 'registries.conf');
  writeFileSync(
    conf,
    `[[registry]]\nprefix = "registry.invalid/test"\nlocation = "registry.invalid/test"\n[[registry.mirror]]\nlocation = "${lab.a}/test"\ninsecure = true\n`,
  );
  const c = new RegistryClient({ registriesConf: conf, credentials: { authFile: lab.authFile, env: {} } });
  t.after(() => c.close());
  const img = await c.resolveImage('registry.invalid/test/app:v1');
  assert.equal(img.digest, seed.appV1);
  assert.equal(img.reference.domain, 'registry.invalid');
  setLogLevel('info');
});

test('contrast image inspect without credentials for a private repository: exit 1, clear message and hint', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const empty = tempAuthFile({ auths: {} });
  const r = await runCli(
    ['image', 'inspect', '--authfile', empty, '--ca-file', lab.caCert, `${lab.c}/test/app:v1`],
    {
      env: { ...process.env, DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'dc-')) },
    },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`registry ${lab.c} answered HTTP 401`));
  assert.match(r.stderr, /credential: anonymous/);
  assert.match(r.stderr, /hint: no credential was found for 127\.0\.0\.1:\d+/);
  assert.equal(r.stdout, '');
});
