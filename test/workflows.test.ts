// `contrast generate` and `contrast policy generate` share their "resolve images" stage
// (src/workflows/resolve-images.ts). These tests run both commands on the same input and check they
// behave the same where they used to differ: how failed images are reported, and which YAML the pods'
// imagePullSecrets are taken from.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setLogLevel } from '../src/internal/log.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../src/registry/options.js';
import { annotateWorkloads } from '../src/workflows/annotate.js';
import { runGenerate } from '../src/workflows/generate.js';
import { escapeRegExp, requireLab, seed } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';

setLogLevel('error');

// No credential of the user's may help: every lookup location points into an empty directory.
const home = mkdtempSync(join(tmpdir(), 'contrast-workflows-home-'));
for (const k of ['HOME', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME']) process.env[k] = home;
delete process.env['REGISTRY_AUTH_FILE'];
const emptyAuth = join(home, 'empty-auth.json');
writeFileSync(emptyAuth, '{}');

function deployment(images: Record<string, string>, pullSecret?: string): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: web, namespace: apps}',
    'spec:',
    '  template:',
    '    spec:',
    '      runtimeClassName: contrast-cc-metal-qemu-snp',
    ...(pullSecret ? ['      imagePullSecrets:', `      - name: ${pullSecret}`] : []),
    '      containers:',
    ...Object.entries(images).map(([name, image]) => `      - {name: ${name}, image: "${image}"}`),
    '',
  ].join('\n');
}

/** The built-in guest-pull settings with the pause image replaced. */
function settingsWithPause(dir: string, pause: string): string {
  const s = JSON.parse(readFileSync(join(repoRoot, 'src/policy/settings/guest-pull.json'), 'utf8')) as {
    cluster_config: { pause_container_image: string };
  };
  s.cluster_config.pause_container_image = pause;
  const path = join(dir, 'settings.json');
  writeFileSync(path, JSON.stringify(s));
  return path;
}

/** Runs both commands, writing nothing (--check); returns each one's error, or undefined. */
async function both(o: {
  dir: string;
  workloadFile: string;
  /** YAML without workloads: a path of `generate`, a --config-file of `policy generate`. */
  extraFile?: string;
  settingsPath: string;
  flags: RegistryFlags;
}): Promise<{ generate: unknown; annotate: unknown }> {
  const generate = await runGenerate({
    paths: [o.workloadFile, ...(o.extraFile ? [o.extraFile] : [])],
    policyPath: join(o.dir, 'rules.rego'),
    settingsPath: o.settingsPath,
    cachePath: join(o.dir, 'layers-cache.json'),
    manifestPath: join(o.dir, 'manifest.json'),
    referenceValues: 'Metal-QEMU-SNP',
    workloadOwnerKeys: [],
    seedshareOwnerKeys: [],
    skipInitializer: true,
    skipServiceMesh: true,
    registry: o.flags,
    progress: 'off',
    print: () => undefined,
    check: true,
  }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const annotate = await annotateWorkloads({
    paths: [o.workloadFile],
    configFilePaths: o.extraFile ? [o.extraFile] : [],
    runtimeClassPrefix: 'contrast-cc',
    flavour: 'guest-pull',
    settingsPath: o.settingsPath,
    client: clientOptionsFromFlags(o.flags),
    cachePath: null,
    progress: 'off',
    check: true,
  }).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { generate, annotate };
}

describe('generate and policy generate resolve images the same way', () => {
  test('failed images: one error naming every image, why, and each container using it (was: policy generate listed only the reasons)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contrast-workflows-'));
    // Port 1 on loopback: refused at once, no registry needed.
    const pin = `@sha256:${'a'.repeat(64)}`;
    const a = `127.0.0.1:1/team/a${pin}`;
    const b = `127.0.0.1:1/team/b${pin}`;
    const workloadFile = join(dir, 'app.yml');
    writeFileSync(workloadFile, deployment({ first: a, second: b }));
    const pause = `127.0.0.1:1/pause${pin}`;
    const settingsPath = settingsWithPause(dir, pause);
    const errors = await both({ dir, workloadFile, settingsPath, flags: { authfile: emptyAuth } });
    for (const [command, err] of Object.entries(errors)) {
      assert.ok(err instanceof Error, `${command} did not fail`);
      const m = err.message;
      assert.match(m, /^3 images could not be analysed:/, `${command}: ${m}`);
      const usedBy = (image: string, user: string): RegExp =>
        new RegExp(`image ${escapeRegExp(image)}: .*\\n {4}used by ${escapeRegExp(user)}`);
      assert.match(m, usedBy(a, `${workloadFile}: Deployment/web container "first"`));
      assert.match(m, usedBy(b, `${workloadFile}: Deployment/web container "second"`));
      assert.match(m, usedBy(pause, 'the policy settings (pause container)'));
    }
    assert.equal(
      (errors.generate as Error).message,
      (errors.annotate as Error).message,
      'the two commands report the same error',
    );
  });

  test("pull secrets: a Secret in a YAML file without workloads serves the pods' imagePullSecrets in both commands", async (t) => {
    const lab = requireLab(t);
    if (!lab) return;
    const dir = mkdtempSync(join(tmpdir(), 'contrast-workflows-'));
    mkdirSync(join(dir, 'deploy'));
    const image = `${lab.c}/test/app@${seed.appV1}`;
    const workloadFile = join(dir, 'deploy', 'app.yml');
    writeFileSync(workloadFile, deployment({ app: image }, 'regcred'));
    const settingsPath = settingsWithPause(dir, image);
    const config = {
      auths: { [lab.c]: { auth: Buffer.from(`${lab.user}:${lab.pass}`).toString('base64') } },
    };
    const extraFile = join(dir, 'deploy', 'secret.yml');
    writeFileSync(
      extraFile,
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: regcred, namespace: apps}',
        'type: kubernetes.io/dockerconfigjson',
        'data:',
        `  .dockerconfigjson: ${Buffer.from(JSON.stringify(config)).toString('base64')}`,
        '',
      ].join('\n'),
    );
    const flags: RegistryFlags = { authfile: emptyAuth, caFile: lab.caCert };
    const withSecret = await both({ dir, workloadFile, extraFile, settingsPath, flags });
    assert.deepEqual(withSecret, { generate: undefined, annotate: undefined });
    // Without the Secret neither command has a credential for the token registry.
    const without = await both({ dir, workloadFile, settingsPath, flags });
    for (const [command, err] of Object.entries(without)) {
      assert.ok(err instanceof Error, `${command} did not fail without the Secret`);
      assert.match(err.message, /401|authentication|unauthorized|credential/i, `${command}: ${err.message}`);
    }
  });
});
