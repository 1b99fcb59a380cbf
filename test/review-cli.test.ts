// The review commands through the real CLI: `policy show`, `policy diff` (exit 0 same / 1 differ /
// 2 error) and `--check` of `policy generate` and `generate` (0 up to date / 1 stale / 2 error) on
// fresh, stale and hand-edited YAML, against the registry lab. None of them may write a file: every
// test snapshots its whole workspace around the command.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { generated, webYaml } from './helpers/review-generate.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { exampleLab } from './helpers/generate-lab.js';
import { lab, requireLab, type Lab } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';
import { snapshot } from './helpers/snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'review-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const d = join(root, `ws${++counter}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/**
 * Runs the CLI and asserts it changed no file in `dir` (every path of the run points there) and
 * left nothing in the working directory (the repository).
 */
async function readOnly(dir: string, args: string[]): Promise<CliResult> {
  const before = snapshot(dir, { mtime: true });
  const cwdBefore = readdirSync(repoRoot).sort();
  const r = await runCli(args, { timeoutMs: 120_000 });
  assert.deepEqual(
    snapshot(dir, { mtime: true }),
    before,
    `\`contrast ${args.join(' ')}\` changed files in ${dir}`,
  );
  assert.deepEqual(readdirSync(repoRoot).sort(), cwdBefore, 'a file appeared in the working directory');
  return r;
}

test('policy show: text, markdown, JSON; --workload; .rego and initdata inputs; writes nothing', async () => {
  const dir = freshDir();
  const yaml = join(dir, 'app.yaml');
  const text = await generated(webYaml());
  writeFileSync(yaml, text);
  let r = await readOnly(dir, ['policy', 'show', yaml]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Deployment\/web \(namespace shop\)\n/);
  assert.match(r.stdout, /\[2\] app\n/);
  r = await readOnly(dir, ['policy', 'show', dir, '--format', 'markdown', '--workload', 'Deployment/web']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^### Deployment `web`/);
  r = await readOnly(dir, ['policy', 'show', yaml, '--json']);
  const json = JSON.parse(r.stdout) as {
    workloads: Array<{ name: string; containers: Array<{ name: string }> }>;
  };
  assert.deepEqual(
    json.workloads[0]!.containers.map((c) => c.name),
    ['pause', 'app', 'proxy'],
  );

  // The same policy as initdata TOML and as a .rego file.
  const annotation = /cc_init_data: (\S+)/.exec(text)![1]!;
  const toml = gunzipSync(Buffer.from(annotation, 'base64')).toString();
  writeFileSync(join(dir, 'initdata.toml'), toml);
  const rego = /"policy\.rego" = '''\n([\s\S]*?)'''/.exec(toml)![1]!;
  writeFileSync(join(dir, 'policy.rego'), rego);
  for (const f of ['initdata.toml', 'policy.rego']) {
    r = await readOnly(dir, ['policy', 'show', join(dir, f), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { workloads: Array<{ hash: string; containers: unknown[] }> };
    assert.equal(j.workloads[0]!.containers.length, 3, f);
  }
  // The initdata hash is the one the manifest records.
  const ij = JSON.parse(
    (await readOnly(dir, ['policy', 'show', join(dir, 'initdata.toml'), '--json'])).stdout,
  );
  assert.equal(ij.workloads[0].hash, createHash('sha256').update(toml).digest('hex'));

  r = await readOnly(dir, ['policy', 'show', yaml, '--workload', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no workload "nope".*\n.*workloads: Deployment\/web/);
});

test('policy diff: exit 0 same, 1 differ (text, JSON, markdown), 2 on errors; writes nothing', async () => {
  const dir = freshDir();
  const a = join(dir, 'a.yaml');
  const b = join(dir, 'b.yaml');
  writeFileSync(a, await generated(webYaml()));
  writeFileSync(
    b,
    await generated(
      webYaml({
        env: [
          ['MODE', 'production'],
          ['FOO', 'bar'],
        ],
      }),
      { rebuilt: true },
    ),
  );

  let r = await readOnly(dir, ['policy', 'diff', a, a]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /the policies admit the same/);

  r = await readOnly(dir, ['policy', 'diff', a, b]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stdout,
    'Deployment/web (namespace shop)\n  app: image sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…; env +FOO=bar\n',
  );
  r = await readOnly(dir, ['policy', 'diff', a, b, '--json']);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as { changes: Array<Record<string, unknown>> };
  assert.deepEqual(j.changes[1], {
    workload: 'Deployment/web',
    namespace: 'shop',
    container: 'app',
    field: 'env',
    before: null,
    after: 'FOO=bar',
  });
  for (const k of ['workload', 'container', 'field', 'before', 'after']) assert.ok(k in j.changes[0]!, k);
  r = await readOnly(dir, ['policy', 'diff', a, b, '--format', 'markdown']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /\| app \| env \| {2}\| `FOO=bar` \|/);

  // Directories (the CI recipe: the base revision's files against the PR's).
  mkdirSync(join(dir, 'base'));
  mkdirSync(join(dir, 'head'));
  copyFileSync(a, join(dir, 'base', 'app.yaml'));
  copyFileSync(b, join(dir, 'head', 'app.yaml'));
  r = await readOnly(dir, ['policy', 'diff', join(dir, 'base'), join(dir, 'head'), '--format', 'markdown']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^\*\*Policy changes\*\*: 2 changes in 1 workload\.\n/);

  // Errors are 2, so a CI step can tell "differs" from "broken".
  r = await readOnly(dir, ['policy', 'diff', a, join(dir, 'missing.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /missing\.yaml: cannot read/);
  r = await readOnly(dir, ['policy', 'diff', a]);
  assert.equal(r.code, 2);
  r = await readOnly(dir, ['policy', 'diff', a, b, '--format', 'html']);
  assert.equal(r.code, 2);
  writeFileSync(join(dir, 'broken.yaml'), 'kind: Pod\nmetadata: {name: [x\n');
  r = await readOnly(dir, ['policy', 'diff', a, join(dir, 'broken.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.yaml:\d+:\d+: invalid YAML/);
});

/** A `policy generate` workspace on lab registry (a): app.yaml, a pause drop-in, a layer cache. */
function policyWorkspace(l: Lab): { dir: string; yaml: string; flags: string[] } {
  const dir = freshDir();
  const image = `${l.a}/test/app:v1`;
  const yaml = join(dir, 'app.yaml');
  writeFileSync(
    yaml,
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      runtimeClassName: contrast-cc-metal-qemu-snp
      containers:
        - name: app
          image: "${image}"
          env: [{name: MODE, value: production}]
`,
  );
  mkdirSync(join(dir, 'settings.d'));
  writeFileSync(
    join(dir, 'settings.d', '10-pause.json'),
    JSON.stringify([{ op: 'replace', path: '/cluster_config/pause_container_image', value: image }]),
  );
  const flags = [
    '--settings-drop-in',
    join(dir, 'settings.d'),
    '--insecure-registry',
    l.a,
    '--cache',
    join(dir, 'layers-cache.json'),
    '--no-progress',
  ];
  return { dir, yaml, flags };
}

test('policy generate --check: fresh 0, stale after a YAML edit 1, hand-edited annotation 1, errors 2; writes nothing', async (t) => {
  const l = requireLab(t);
  if (!l) return;
  const ws = policyWorkspace(l);
  const check = (...extra: string[]) =>
    readOnly(ws.dir, ['policy', 'generate', ws.yaml, ...ws.flags, '--check', ...extra]);

  // Never generated: stale.
  let r = await check();
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /stale: .*app\.yaml: Deployment\/web \(namespace shop\): no policy annotation/);

  const gen = await runCli(['policy', 'generate', ws.yaml, ...ws.flags]);
  assert.equal(gen.code, 0, gen.stderr);
  const fresh = readFileSync(ws.yaml, 'utf8');
  r = await check();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /policy annotations up to date/);
  assert.equal(r.stdout, '');

  // The YAML was edited but not regenerated.
  writeFileSync(ws.yaml, fresh.replace('{name: MODE, value: production}', '{name: MODE, value: debug}'));
  r = await check();
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^stale: .*app\.yaml: Deployment\/web \(namespace shop\)\n {2}app: env MODE=production → MODE=debug\n/m,
  );
  assert.match(r.stderr, /1 file not up to date/);

  // The annotation was edited by hand (here: replaced by the policy of another pod spec).
  const other = policyWorkspace(l);
  writeFileSync(
    other.yaml,
    readFileSync(other.yaml, 'utf8').replace(
      'value: production}]',
      'value: production}]\n          args: ["sh"]',
    ),
  );
  assert.equal((await runCli(['policy', 'generate', other.yaml, ...other.flags])).code, 0);
  const foreign = /cc_init_data: (\S+)/.exec(readFileSync(other.yaml, 'utf8'))![1]!;
  writeFileSync(ws.yaml, fresh.replace(/cc_init_data: \S+/, `cc_init_data: ${foreign}`));
  r = await check();
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\n {2}app: args \/app\/hello\.sh sh → \/app\/hello\.sh --from lab\n/);

  // An initdata annotation that is not initdata: generation itself refuses it (it keeps the other
  // initdata entries), so --check reports the error (2), as generate would fail.
  writeFileSync(ws.yaml, fresh.replace(/cc_init_data: \S+/, 'cc_init_data: bm90IGd6aXA='));
  r = await check();
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cc_init_data annotation is not base64\(gzip\(TOML\)\)/);

  // -o: the output file is what is compared (missing → stale; after writing it → up to date).
  writeFileSync(ws.yaml, fresh);
  const out = join(ws.dir, 'out.yaml');
  r = await check('-o', out);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /stale: .*out\.yaml: missing/);
  assert.equal((await runCli(['policy', 'generate', ws.yaml, ...ws.flags, '-o', out])).code, 0);
  r = await check('-o', out);
  assert.equal(r.code, 0, r.stderr);

  // Errors: 2 (an image the registry does not have; a flag error).
  writeFileSync(ws.yaml, fresh.replace('test/app:v1', 'test/nope:v1'));
  r = await check();
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /nope/);
  r = await check('--flavour', 'cloud');
  assert.equal(r.code, 2);
  r = await check('--no-such-flag');
  assert.equal(r.code, 2, 'a usage error with --check is 2, not "stale"');
});

test('generate --check: up to date after generate (no owner keys needed), stale after edits, writes nothing', async (t) => {
  const l = requireLab(t);
  if (!l) return;
  const { release, conf } = exampleLab(l, 'review-check');
  const dir = freshDir();
  const deploy = join(dir, 'deploy');
  mkdirSync(deploy);
  for (const f of readdirSync(join(repoRoot, 'examples')))
    if (f.endsWith('.yml')) copyFileSync(join(repoRoot, 'examples', f), join(deploy, f));
  const base = [
    ...['--workspace-dir', dir, 'generate', '--no-progress', '--registries-conf', conf],
    ...['--contrast-release', release, '--reference-values', 'Metal-QEMU-SNP'],
  ];
  const gen = await runCli([...base, deploy], { timeoutMs: 120_000 });
  assert.equal(gen.code, 0, gen.stderr);

  // CI has the YAML and manifest.json, not the owner keys.
  rmSync(join(dir, 'workload-owner.pem'));
  rmSync(join(dir, 'seedshare-owner.pem'));
  let r = await readOnly(dir, [...base, '--check', deploy]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /YAML and manifest policies up to date/);

  // Edited and not regenerated: the file and workload, what differs, and the manifest's stale hash.
  const web = join(deploy, 'web.yml');
  const fresh = readFileSync(web, 'utf8');
  writeFileSync(web, fresh.replace('args: ["--listen", ":8080"', 'args: ["--listen", ":9090"'));
  r = await readOnly(dir, [...base, '--check', deploy]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /stale: .*web\.yml: Deployment\/web \(namespace default\)\n {2}web: args \/app\/hello\.sh --listen :8080 .* → \/app\/hello\.sh --listen :9090 /,
  );
  assert.match(
    r.stderr,
    /stale: .*manifest\.json\n {2}Deployment\/web: manifest Policies \+[0-9a-f]{64}\n {2}web \(old policy\): manifest Policies -[0-9a-f]{64}\n/,
  );

  // Runtime class edited by hand (generate patches it): reported as a pod change.
  writeFileSync(web, fresh.replace(/runtimeClassName: \S+/, 'runtimeClassName: contrast-cc'));
  r = await readOnly(dir, [...base, '--check', deploy]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\(pod\): pod\.spec\.runtimeClassName contrast-cc → contrast-cc-metal-qemu-snp/);

  // Errors: 2.
  r = await readOnly(dir, [...base, '--check', join(dir, 'missing')]);
  assert.equal(r.code, 2, r.stderr);
  r = await readOnly(dir, [...base, '--check', '--no-such-flag', deploy]);
  assert.equal(r.code, 2, r.stderr);
});

before(() => {
  // The lab is started by scripts/test.mjs; nothing to prepare otherwise.
  void lab();
});
