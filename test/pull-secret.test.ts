// Pull secrets both ways: `contrast pull-secret` builds a dockerconfigjson Secret from the user's
// credentials; the Secret, referenced by a pod's imagePullSecrets in the input YAML, is what the
// resolver then uses (source "pull secret <ns>/<name>") to reach the lab's token registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { requireLab, seed } from './helpers/lab.js';
import { runCli } from './helpers/cli.js';
import { fixtureRelease } from './helpers/shared.js';
import { parseKubeFile } from '../src/kube/index.js';
import { pullSecretEntries, withPullSecrets } from '../src/kube/pull-secrets.js';
import { resolveCredential } from '../src/credentials/index.js';
import { RegistryClient } from '../src/registry/index.js';
import { setLogLevel, setLogSink } from '../src/internal/log.js';

setLogLevel('warn');
const b64 = (s: string) => Buffer.from(s).toString('base64');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'contrast-pullsecret-'));
}

function podYaml(ns: string, secretNames: string[], image: string, extra = ''): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    `metadata: {name: app, namespace: ${ns}}`,
    'spec:',
    '  runtimeClassName: contrast-cc',
    ...(secretNames.length ? ['  imagePullSecrets:', ...secretNames.map((n) => `  - name: ${n}`)] : []),
    '  containers:',
    `  - {name: app, image: "${image}"}`,
    extra,
  ].join('\n');
}

test('pullSecretEntries: same namespace only, both secret types, ServiceAccount secrets, bad secrets skipped', () => {
  const cfgjson = b64(JSON.stringify({ auths: { 'r.io': { auth: b64('u1:p-one-secret') } } }));
  const cfg = b64(JSON.stringify({ 'old.io': { auth: b64('u2:p-two-secret') } }));
  const text = [
    podYaml('ns1', ['s-json', 's-cfg', 's-missing', 's-other-ns', 's-opaque'], 'r.io/app@' + seed.appV1),
    '---',
    `apiVersion: v1\nkind: Secret\nmetadata: {name: s-json, namespace: ns1}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: "${cfgjson}"}`,
    '---',
    `apiVersion: v1\nkind: Secret\nmetadata: {name: s-cfg, namespace: ns1}\ntype: kubernetes.io/dockercfg\ndata: {.dockercfg: "${cfg}"}`,
    '---',
    `apiVersion: v1\nkind: Secret\nmetadata: {name: s-other-ns, namespace: ns2}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: "${cfgjson}"}`,
    '---',
    `apiVersion: v1\nkind: Secret\nmetadata: {name: s-opaque, namespace: ns1}\ntype: Opaque\ndata: {x: "${b64('y')}"}`,
    '---',
    `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: ns1}\nimagePullSecrets: [{name: s-sa}]`,
    '---',
    `apiVersion: v1\nkind: Secret\nmetadata: {name: s-sa, namespace: ns1}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{"auths":{"sa.io":{"username":"u3","password":"p-three-secret"}}}'}`,
    '',
  ].join('\n');
  const lines: string[] = [];
  const prev = setLogSink({ write: (l) => lines.push(l) });
  let entries;
  try {
    entries = pullSecretEntries([parseKubeFile('in.yml', text)]);
  } finally {
    setLogSink(prev);
  }
  assert.deepEqual(
    entries.map((e) => [e.source.type, e.source.description, Object.keys(e.auths)]),
    [
      ['pull-secret', 'pull secret ns1/s-json', ['r.io']],
      ['pull-secret', 'pull secret ns1/s-cfg', ['old.io']],
      ['pull-secret', 'pull secret ns1/s-sa', ['sa.io']],
    ],
  );
  assert.ok(
    lines.some((l) => l.includes('ns1/s-opaque') && l.includes('Opaque')),
    lines.join(''),
  );
  assert.ok(!lines.join('').includes('p-one-secret'));
});

test('resolver: a pull-secret entry wins over the config files and names its source', async () => {
  const cfgjson = b64(JSON.stringify({ auths: { 'r.io': { auth: b64('ps-user:ps-pass-123') } } }));
  const text = `${podYaml('team', ['regcred'], 'r.io/x/app:1')}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: team}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: "${cfgjson}"}\n`;
  const dir = tempDir();
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ auths: { 'r.io': { auth: b64('file-user:file-pass') } } }),
  );
  const options = withPullSecrets(
    { env: { DOCKER_CONFIG: dir, HOME: dir } },
    pullSecretEntries([parseKubeFile('in.yml', text)]),
  );
  const cred = await resolveCredential('r.io/x/app:1', options);
  assert.equal(cred.username, 'ps-user');
  assert.equal(cred.source.type, 'pull-secret');
  assert.match(cred.source.description, /^pull secret team\/regcred/);
  const other = await resolveCredential('other.io/app', options);
  assert.equal(other.kind, 'anonymous');
});

test('lab round trip: contrast pull-secret → imagePullSecrets in the YAML → token registry c pulls with it', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = tempDir();
  const env = { ...process.env, HOME: dir, DOCKER_CONFIG: join(dir, 'docker') };
  const r = await runCli(
    [
      '--log-level',
      'debug',
      'pull-secret',
      lab.c,
      '--name',
      'regcred',
      '--namespace',
      'apps',
      '--authfile',
      lab.authFile,
    ],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    !r.stderr.includes(lab.pass) && !r.stderr.includes(b64(`${lab.user}:${lab.pass}`)),
    'secret on stderr',
  );
  const secret = parse(r.stdout) as {
    kind: string;
    type: string;
    metadata: { name: string; namespace: string };
    data: Record<string, string>;
  };
  assert.equal(secret.kind, 'Secret');
  assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
  assert.deepEqual(secret.metadata, { name: 'regcred', namespace: 'apps' });
  const config = JSON.parse(Buffer.from(secret.data['.dockerconfigjson']!, 'base64').toString()) as {
    auths: Record<string, { auth: string }>;
  };
  assert.equal(config.auths[lab.c]!.auth, b64(`${lab.user}:${lab.pass}`));

  const image = `${lab.c}/test/app@${seed.appV1}`;
  const files = [parseKubeFile('app.yml', `${podYaml('apps', ['regcred'], image)}\n---\n${r.stdout}`)];
  // No other credential anywhere: HOME/DOCKER_CONFIG point to an empty directory.
  const clientFor = (extra: boolean) =>
    new RegistryClient({
      caFile: lab.caCert,
      credentials: extra
        ? withPullSecrets({ env: { HOME: dir } }, pullSecretEntries(files))
        : { env: { HOME: dir } },
      registriesConfig: { path: undefined, registries: [] },
    });
  const withSecret = clientFor(true);
  const without = clientFor(false);
  t.after(() => Promise.all([withSecret.close(), without.close()]));
  const img = await withSecret.resolveImage(image);
  assert.equal(img.digest, seed.appV1);
  assert.equal(img.credential.kind, 'basic');
  assert.equal(img.credential.username, lab.user);
  assert.match(img.credential.source.description, /^pull secret apps\/regcred/);
  await assert.rejects(without.resolveImage(image), /401|authentication/);

  // The same Secret in another namespace is not the node's credential for this pod.
  const elsewhere = [parseKubeFile('app.yml', `${podYaml('other', ['regcred'], image)}\n---\n${r.stdout}`)];
  assert.equal(pullSecretEntries(elsewhere).length, 0);
});

test('contrast pull-secret: -o writes mode 0600 and nothing on stdout; identity tokens and missing logins are refused', async () => {
  const dir = tempDir();
  const auth = join(dir, 'auth.json');
  const identity = 'identity-token-Qq81-secret';
  writeFileSync(
    auth,
    JSON.stringify({
      auths: {
        'b.io': { auth: b64('bu:b-pass-secret-7') },
        'i.io': { auth: b64('iu:'), identitytoken: identity },
        't.io': { registrytoken: 'reg-token-secret-9' },
      },
    }),
  );
  const env = { ...process.env, HOME: dir };
  const out = join(dir, 'secret.yaml');
  const ok = await runCli(['--log-level', 'debug', 'pull-secret', 'b.io', '-o', out, '--authfile', auth], {
    env,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, '');
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.match(readFileSync(out, 'utf8'), /name: contrast-pull-secret\n\s+namespace: default/);
  assert.ok(!ok.stderr.includes('b-pass-secret-7'));

  const idt = await runCli(['--log-level', 'debug', 'pull-secret', 'i.io', '--authfile', auth], { env });
  assert.equal(idt.code, 1);
  assert.match(idt.stderr, /identity token .*kubelet cannot use/);
  assert.match(idt.stderr, /hint: create a registry access token/);
  assert.equal(idt.stdout, '');
  const tok = await runCli(['pull-secret', 't.io', '--authfile', auth], { env });
  assert.equal(tok.code, 1);
  assert.match(tok.stderr, /short-lived registry token/);
  const none = await runCli(['pull-secret', 'none.io', '--authfile', auth], { env });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no credential found for none\.io/);
  for (const o of [ok, idt, tok, none]) {
    for (const s of [identity, 'reg-token-secret-9', 'b-pass-secret-7'])
      assert.ok(!o.stderr.includes(s) && !o.stdout.includes(s), `${s} leaked`);
  }
});

test('contrast generate uses the pods\' imagePullSecrets from the input YAML (source "pull secret ns/name")', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const { execFileSync } = await import('node:child_process');
  const dir = tempDir();
  // The pause image the policy settings need, served from a registries.conf mirror on registry a.
  const prefix = `pstest${Date.now().toString(36)}`;
  execFileSync(
    'skopeo',
    [
      '--policy',
      join(lab.dir, 'config/policy.json'),
      'copy',
      '-q',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${lab.a}/test/app:v1`,
      `docker://${lab.a}/${prefix}/edgelesssys/kubernetes/pause:3.6`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const conf = join(dir, 'registries.conf');
  writeFileSync(
    conf,
    `[[registry]]\nprefix = "ghcr.io/edgelesssys"\nlocation = "ghcr.io/edgelesssys"\n[[registry.mirror]]\nlocation = "${lab.a}/${prefix}/edgelesssys"\ninsecure = true\n`,
  );
  const env = {
    ...process.env,
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    NODE_EXTRA_CA_CERTS: lab.caCert,
  };
  const secret = await runCli(
    ['pull-secret', lab.c, '--name', 'regcred', '--namespace', 'apps', '--authfile', lab.authFile],
    { env },
  );
  assert.equal(secret.code, 0, secret.stderr);
  const coordinator = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: coordinator, namespace: apps, annotations: {contrast.edgeless.systems/pod-role: coordinator}}',
    'spec:',
    '  runtimeClassName: contrast-cc-metal-qemu-snp',
    '  containers:',
    `  - {name: coordinator, image: "${lab.a}/test/app@${seed.appV1}"}`,
  ].join('\n');
  const app = podYaml('apps', ['regcred'], `${lab.c}/test/app@${seed.appV1}`).replace(
    'contrast-cc',
    'contrast-cc-metal-qemu-snp',
  );
  const yaml = join(dir, 'app.yml');
  writeFileSync(yaml, `${app}\n---\n${coordinator}\n---\n${secret.stdout}`);
  const emptyAuth = join(dir, 'empty.json');
  writeFileSync(emptyAuth, '{}');
  const args = [
    '--log-level',
    'debug',
    '--workspace-dir',
    dir,
    'generate',
    '--no-progress',
    '--contrast-release',
    fixtureRelease('2025'),
    '--skip-initializer',
    '--skip-service-mesh',
    '--reference-values',
    'Metal-QEMU-SNP',
    '--registries-conf',
    conf,
    '--insecure-registry',
    lab.a,
    '--authfile',
    emptyAuth,
    yaml,
  ];
  const r = await runCli(args, { env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`credential for ${lab.c.replace(/\./g, '\\.')}/test/app: basic from pull secret apps/regcred`),
  );
  assert.ok(!r.stderr.includes(lab.pass) && !r.stdout.includes(lab.pass));
  assert.ok(!r.stderr.includes(b64(`${lab.user}:${lab.pass}`)));
});
