// What a new user sees (issue 13): near-miss runtime classes, `hint:` lines, the Go CLI's default
// log level, ✔ lines only for what was written, and no silent platform mix on re-runs.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runGenerate } from '../src/workflows/generate.js';
import { runCli } from './helpers/cli.js';
import { exampleLab } from './helpers/generate-lab.js';
import { lab, requireLab, type Lab } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';

describe('messages', () => {
  it('a near-miss runtime class is reported with file, resource and value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conv-'));
    const f = join(dir, 'pod.yaml');
    writeFileSync(
      f,
      'apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  runtimeClassName: contrat-cc\n  containers: [{name: c, image: x}]\n',
    );
    const r = await runCli(['policy', 'generate', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(
        `warn: ${f}: Pod/app: runtimeClassName "contrat-cc" does not start with "contrast-cc"`,
      ),
      r.stderr,
    );
  });

  it('hints are printed as "hint: …", not "error: hint: …"', async () => {
    const r = await runCli(['policy', 'generate', 'x.yaml', '--flavour', 'cloud']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: --flavour: unknown flavour "cloud"\nhint: use host-pull or guest-pull$/m);
  });
});

describe('contrast generate output', () => {
  const NS = 'conv-gen';
  let l: Lab | undefined;
  let conf = '';
  let release = '';
  before(() => {
    l = lab();
    if (!l) return;
    // generate needs a Contrast release: the fixture release, pinned to the lab's image copies.
    ({ release, conf } = exampleLab(l, NS));
  });
  function workspace(files: string[]): { dir: string; deploy: string } {
    const dir = mkdtempSync(join(tmpdir(), 'conv-ws-'));
    const deploy = join(dir, 'deploy');
    mkdirSync(deploy);
    for (const f of files) copyFileSync(join(repoRoot, 'examples', f), join(deploy, f));
    return { dir, deploy };
  }
  const gen = (dir: string, ...args: string[]) =>
    runCli(
      [
        '--workspace-dir',
        dir,
        'generate',
        '--no-progress',
        '--registries-conf',
        conf,
        '--contrast-release',
        release,
        ...args,
      ],
      {
        timeoutMs: 180_000,
      },
    );

  it('a clean run prints only what the Go CLI prints: ✔ lines and warnings (default --log-level warn)', async (t) => {
    if (!requireLab(t)) return;
    const ws = workspace(['coordinator.yml', 'api.yml', 'web.yml']);
    const r = await gen(ws.dir, '--reference-values', 'Metal-QEMU-SNP', ws.deploy);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '✔️ Patched targets',
      '✔️ Generated workload policy annotations',
      `✔️ Updated manifest ${join(ws.dir, 'manifest.json')}`,
    ]);
    for (const line of r.stderr.split('\n').filter(Boolean))
      assert.match(line, /^warn: /, `only warnings on stderr: ${line}`);
    assert.doesNotMatch(r.stderr, /generated .*mode 0600|wrote the built-in/);
    const info = await gen(
      mkdtempSync(join(tmpdir(), 'conv-ws-')),
      '--log-level',
      'info',
      '--reference-values',
      'Metal-QEMU-SNP',
      ws.deploy,
      '-o',
      '-',
    );
    assert.match(info.stderr, /generated .*workload-owner\.pem \(mode 0600\)/, '--log-level info shows more');
  });

  it('no ✔ line when the run fails and nothing is written', async (t) => {
    if (!requireLab(t)) return;
    const ws = workspace(['api.yml', 'web.yml']); // no Coordinator: fails after the policies
    const before = readdirSync(ws.deploy).map((f) => readFileSync(join(ws.deploy, f), 'utf8'));
    const r = await gen(ws.dir, '--reference-values', 'Metal-QEMU-SNP', ws.deploy);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /coordinator/i);
    assert.doesNotMatch(r.stdout + r.stderr, /✔/);
    assert.deepEqual(
      readdirSync(ws.deploy).map((f) => readFileSync(join(ws.deploy, f), 'utf8')),
      before,
    );
  });

  it('re-running with another --reference-values on generated YAML is a clear error, not a silent mix', async (t) => {
    if (!requireLab(t)) return;
    const ws = workspace(['coordinator.yml', 'api.yml', 'web.yml']);
    const r1 = await gen(ws.dir, '--reference-values', 'Metal-QEMU-SNP', ws.deploy);
    assert.equal(r1.code, 0, r1.stderr);
    const snapshot = readdirSync(ws.deploy).map((f) => readFileSync(join(ws.deploy, f), 'utf8'));
    const manifest = readFileSync(join(ws.dir, 'manifest.json'), 'utf8');
    const r2 = await gen(ws.dir, '--reference-values', 'Metal-QEMU-TDX', ws.deploy);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /generated for Metal-QEMU-SNP .* but --reference-values is Metal-QEMU-TDX/);
    assert.match(r2.stderr, /^hint: to re-target it/m);
    assert.deepEqual(
      readdirSync(ws.deploy).map((f) => readFileSync(join(ws.deploy, f), 'utf8')),
      snapshot,
    );
    assert.equal(readFileSync(join(ws.dir, 'manifest.json'), 'utf8'), manifest);
  });

  it('stages the YAML first and manifest.json last (a kill between renames never leaves a manifest ahead of its YAML)', async (t) => {
    const l2 = requireLab(t);
    if (!l2) return;
    const ws = workspace(['coordinator.yml', 'api.yml', 'web.yml']);
    let order: string[] = [];
    await runGenerate({
      paths: [ws.deploy],
      policyPath: join(ws.dir, 'rules.rego'),
      settingsPath: join(ws.dir, 'settings.json'),
      cachePath: join(ws.dir, 'layers-cache.json'),
      manifestPath: join(ws.dir, 'manifest.json'),
      referenceValues: 'Metal-QEMU-SNP',
      workloadOwnerKeys: [join(ws.dir, 'workload-owner.pem')],
      seedshareOwnerKeys: [join(ws.dir, 'seedshare-owner.pem')],
      registry: { registriesConf: conf },
      progress: 'off',
      print: () => undefined,
      writeHooks: { staged: (tmps) => void (order = tmps) },
    });
    assert.ok(order.length >= 4, order.join(', '));
    assert.match(order.at(-1)!, /\/\.manifest\.json\.contrast-\d+-[0-9a-f]+\.tmp$/);
  });
});
