// Files and pipelines (issue 13, 14.9): `-` is stdin/stdout kubectl style, symlinks are kept and
// followed, non-regular and oversized inputs are refused with a clear error, never hang or crash.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runCli } from './helpers/cli.js';
import { exampleLab } from './helpers/generate-lab.js';
import { lab, requireLab, type Lab } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';

const INITDATA = 'io.katacontainers.config.hypervisor.cc_init_data';

function podYaml(image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      runtimeClassName: contrast-cc-metal-qemu-snp
      containers:
        - name: app
          image: "${image}"
`;
}

function workspace(image: string): { dir: string; yaml: string; flags: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-'));
  const yaml = join(dir, 'app.yaml');
  writeFileSync(yaml, podYaml(image));
  mkdirSync(join(dir, 'settings.d'));
  // The lab has no pause image: the app image stands in (a settings drop-in).
  writeFileSync(
    join(dir, 'settings.d/10-pause.json'),
    JSON.stringify([{ op: 'replace', path: '/cluster_config/pause_container_image', value: image }]),
  );
  const host = image.split('/')[0]!;
  return {
    dir,
    yaml,
    flags: [
      '--settings-drop-in',
      join(dir, 'settings.d'),
      '--insecure-registry',
      host,
      '--no-cache',
      '--no-progress',
    ],
  };
}

const annotated = (text: string): boolean => text.includes(INITDATA);

describe('policy generate: stdin/stdout', () => {
  it('- reads stdin and writes the annotated YAML to stdout; hashes go to stderr; no file named -', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const ws = workspace(`${l.a}/test/app:v1`);
    const r = await runCli(['policy', 'generate', '-', ...ws.flags], {
      input: podYaml(`${l.a}/test/app:v1`),
      cwd: ws.dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(annotated(r.stdout), 'stdout carries the annotated YAML');
    assert.doesNotThrow(() => parseAllDocuments(r.stdout));
    assert.match(r.stderr, /^[0-9a-f]{64}\tstdout\tDeployment\tdefault\/web$/m);
    assert.ok(!existsSync(join(ws.dir, '-')), 'no file literally named -');
    assert.ok(!annotated(readFileSync(ws.yaml, 'utf8')));
  });

  it('-o - writes to stdout and leaves the input unchanged', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const ws = workspace(`${l.a}/test/app:v1`);
    const r = await runCli(['policy', 'generate', ws.yaml, '-o', '-', ...ws.flags], { cwd: ws.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(annotated(r.stdout));
    assert.ok(!r.stdout.includes('\tDeployment\t'), 'the hash line is not mixed into the YAML');
    assert.equal(readFileSync(ws.yaml, 'utf8'), podYaml(`${l.a}/test/app:v1`));
    assert.ok(!existsSync(join(ws.dir, '-')));
  });

  it('stdin without confidential workloads passes through unchanged (the pipeline keeps flowing)', async () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n';
    const r = await runCli(['policy', 'generate', '-'], { input: text });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, text);
  });
});

describe('symlinks', () => {
  it('a symlinked YAML stays a link; its target gets the annotation', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const ws = workspace(`${l.a}/test/app:v1`);
    mkdirSync(join(ws.dir, 'real'));
    copyFileSync(ws.yaml, join(ws.dir, 'real/pod.yaml'));
    symlinkSync('real/pod.yaml', join(ws.dir, 'link.yaml'));
    const r = await runCli(['policy', 'generate', join(ws.dir, 'link.yaml'), ...ws.flags]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(join(ws.dir, 'link.yaml')).isSymbolicLink());
    assert.equal(readlinkSync(join(ws.dir, 'link.yaml')), 'real/pod.yaml');
    assert.ok(annotated(readFileSync(join(ws.dir, 'real/pod.yaml'), 'utf8')));
    assert.deepEqual(readdirSync(join(ws.dir, 'real')), ['pod.yaml'], 'no temp file left');
  });

  it('a directory of symlinked files (and a link loop) is walked, each directory once', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const ws = workspace(`${l.a}/test/app:v1`);
    mkdirSync(join(ws.dir, 'store'));
    copyFileSync(ws.yaml, join(ws.dir, 'store/a.yaml'));
    mkdirSync(join(ws.dir, 'deploy'));
    symlinkSync(join(ws.dir, 'store/a.yaml'), join(ws.dir, 'deploy/a.yaml'));
    symlinkSync('..', join(ws.dir, 'deploy/loop')); // deploy/loop -> ws.dir, which holds deploy/
    symlinkSync(join(ws.dir, 'store'), join(ws.dir, 'deploy/store-link'));
    const r = await runCli(['policy', 'generate', join(ws.dir, 'deploy'), ...ws.flags]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(annotated(readFileSync(join(ws.dir, 'store/a.yaml'), 'utf8')));
    assert.ok(lstatSync(join(ws.dir, 'deploy/a.yaml')).isSymbolicLink());
  });
});

describe('interrupted runs', () => {
  it('a run removes stale temp files of a killed earlier run at its start, even when it writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stale-'));
    const yaml = join(dir, 'app.yaml');
    writeFileSync(yaml, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    const dead = spawnSync('true').pid!; // a PID that has exited
    const stale = `.app.yaml.contrast-${dead}-0123456789ab.tmp`;
    writeFileSync(join(dir, stale), 'half-written');
    writeFileSync(join(dir, '.other.tmp'), 'not ours');
    const r = await runCli(['policy', 'generate', yaml]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['.other.tmp', 'app.yaml']);
  });
});

describe('odd paths are refused, never read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'odd-'));

  it('/dev/zero: a clear error, no stack', async () => {
    const r = await runCli(['policy', 'generate', '/dev/zero']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/dev\/zero: YAML input is a character device, not a regular file/);
    assert.doesNotMatch(r.stderr, /RangeError|\n\s+at /);
  });

  it('a FIFO is refused at once (opening it would block)', async () => {
    const fifo = join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await runCli(['policy', 'generate', fifo], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, 'killed by the timeout means it blocked');
    assert.match(r.stderr, /pipe\.yaml: YAML input is a FIFO \(named pipe\), not a regular file/);
  });

  it('/dev/stdin (a pipe here) is refused and never replaced; - is the way', async () => {
    const r = await runCli(['policy', 'generate', '/dev/stdin'], { input: 'kind: Pod\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/dev\/stdin: .*not a regular file/);
    assert.match(r.stderr, /^hint: .*use - to read stdin/m);
  });

  it('a file over the 64 MiB limit', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 64 * 1024 * 1024 + 1);
    const r = await runCli(['policy', 'generate', big]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /big\.yaml: YAML input is 64 MiB, more than the 64 MiB limit/);
  });

  it('every other file flag too: --registries-conf, --ca-file, --reference-values-file', async () => {
    const r1 = await runCli(['image', 'inspect', '--registries-conf', '/dev/zero', 'example.com/a:b']);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /\/dev\/zero: registries config is a character device/);
    const r2 = await runCli(['image', 'inspect', '--ca-file', '/dev/zero', 'example.com/a:b']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /\/dev\/zero: .* is a character device/);
    assert.doesNotMatch(r1.stderr + r2.stderr, /RangeError|\n\s+at /);
  });

  it('policy eval refuses a device as --input', async () => {
    const rules = join(dir, 'p.rego');
    writeFileSync(rules, 'package agent_policy\ndefault A := true\n');
    const r = await runCli([
      'policy',
      'eval',
      '--policy',
      rules,
      '--query',
      'data.agent_policy.A',
      '--input',
      '/dev/zero',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/dev\/zero: input is a character device/);
  });
});

describe('generate: stdin/stdout', () => {
  const NS = 'pipeline-gen';
  let l: Lab | undefined;
  let conf = '';
  let release = '';
  before(() => {
    l = lab();
    if (!l) return;
    // generate needs a Contrast release: the fixture release, pinned to the lab's image copies.
    ({ release, conf } = exampleLab(l, NS));
  });
  const generateArgs = (dir: string): string[] => [
    ...['--workspace-dir', dir, 'generate', '--no-progress', '--registries-conf', conf],
    ...['--contrast-release', release, '--reference-values', 'Metal-QEMU-SNP'],
  ];
  const examples = ['coordinator.yml', 'api.yml', 'web.yml'].map((f) =>
    readFileSync(join(repoRoot, 'examples', f), 'utf8'),
  );

  it('contrast generate - : YAML on stdout, ✔ lines on stderr, manifest.json still written', async (t) => {
    if (!requireLab(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'pipeline-gen-'));
    const input = examples.map((e) => (e.startsWith('---') ? e : `---\n${e}`)).join('');
    const r = await runCli([...generateArgs(dir), '-'], { input, cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(annotated(r.stdout));
    assert.doesNotMatch(r.stdout, /✔/);
    assert.match(r.stderr, /✔️ Updated manifest/);
    assert.ok(Object.keys(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).Policies).length >= 3);
    assert.ok(!existsSync(join(dir, '-')));
  });

  it('contrast generate -o - dir: input files unchanged', async (t) => {
    if (!requireLab(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'pipeline-gen-'));
    mkdirSync(join(dir, 'deploy'));
    ['coordinator.yml', 'api.yml', 'web.yml'].forEach((f, i) =>
      writeFileSync(join(dir, 'deploy', f), examples[i]!),
    );
    const r = await runCli([...generateArgs(dir), '-o', '-', join(dir, 'deploy')], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(annotated(r.stdout));
    assert.equal(readFileSync(join(dir, 'deploy/web.yml'), 'utf8'), examples[2]);
    assert.ok(existsSync(join(dir, 'manifest.json')));
  });
});
