// Crafted input files, run through the real CLI in a child process (issue 14.2 and 14.6): a YAML alias
// bomb must be refused by name, not exhaust the heap; bytes that are not UTF-8 must be refused, not
// silently rewritten as U+FFFD. In both cases the input file stays byte-identical. `generate` reads
// its YAML through the same readKubeFiles/parseKubeFile (it first needs a Contrast release, so the
// CLI cases here use `policy generate` and `policy eval`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKubeFile, serializeKubeFile } from '../src/kube/index.js';
import { runCli } from './helpers/cli.js';
import { requireLab } from './helpers/lab.js';

// A small heap makes a regression (aliases expanded without limit) fail fast instead of eating the
// machine's memory: the expansion below is 9^9 ≈ 387M strings.
const smallHeap = { ...process.env, NODE_OPTIONS: '--max-old-space-size=192' };

function aliasBomb(image = 'nginx'): string {
  const lines = ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: bomb', '  annotations:'];
  lines.push(`    a0: &a0 [${Array(9).fill('"lol"').join(',')}]`);
  for (let i = 1; i < 9; i++)
    lines.push(
      `    a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  lines.push(
    'spec:',
    '  runtimeClassName: contrast-cc',
    '  containers:',
    '  - name: c',
    `    image: ${image}`,
  );
  return `${lines.join('\n')}\n`;
}

test('a YAML alias bomb is refused: "too many YAML aliases in FILE", no crash, file unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bomb-'));
  const file = join(dir, 'pod.yaml');
  const text = aliasBomb();
  assert.ok(text.length < 1024);
  writeFileSync(file, text);
  for (const args of [
    ['policy', 'generate', file],
    ['policy', 'eval', '--policy', file, '--query', 'data', '--input', file],
  ]) {
    const r = await runCli(args, { env: smallHeap });
    // policy eval: 2 is an error (bad input), 1 would be a refused request.
    const expected = args[1] === 'eval' ? 2 : 1;
    assert.equal(r.code, expected, `${args.join(' ')}: ${r.stderr.slice(0, 500)}`);
    assert.ok(r.stderr.includes(`too many YAML aliases in ${file}`), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.equal(readFileSync(file, 'utf8'), text);
});

test('the alias bomb with resolvable images (lab): refused, where it used to crash the heap', async (t) => {
  // With every image reachable the old code went on to build policy data and died of V8 heap
  // exhaustion (exit 134); the pause image is pointed at the lab so no internet is needed.
  const lab = requireLab(t);
  if (!lab) return;
  const dir = mkdtempSync(join(tmpdir(), 'bomb-lab-'));
  const file = join(dir, 'pod.yaml');
  writeFileSync(file, aliasBomb(`${lab.a}/test/app:v1`));
  mkdirSync(join(dir, 'drop-in'));
  writeFileSync(
    join(dir, 'drop-in', '10-pause.json'),
    JSON.stringify([
      { op: 'replace', path: '/cluster_config/pause_container_image', value: `${lab.a}/test/app:v1` },
    ]),
  );
  const r = await runCli(
    [
      'policy',
      'generate',
      '--no-cache',
      '--insecure-registry',
      `http://${lab.a}`,
      '--settings-drop-in',
      join(dir, 'drop-in'),
      file,
    ],
    { env: smallHeap },
  );
  assert.equal(r.code, 1, r.stderr.slice(0, 500));
  assert.ok(r.stderr.includes(`too many YAML aliases in ${file}`), r.stderr.slice(0, 500));
});

test('a few ordinary aliases still work', () => {
  const f = parseKubeFile(
    'ok.yaml',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: &l {a: b}}\ndata: {x: "1"}\nextra: [*l, *l]\n',
  );
  assert.equal(f.docs.length, 1);
});

test('Latin-1 bytes are refused with "FILE is not valid UTF-8 (line L)" and the file is not rewritten', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latin1-'));
  const file = join(dir, 'pod.yaml');
  // line 6: a comment with "café" in Latin-1; line 9: a label "Müller" in Latin-1
  const bytes = Buffer.concat([
    Buffer.from('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    # caf'),
    Buffer.from([0xe9]),
    Buffer.from('\n    team: M'),
    Buffer.from([0xfc]),
    Buffer.from(
      'ller\nspec:\n  runtimeClassName: contrast-cc\n  containers:\n  - name: c\n    image: nginx\n',
    ),
  ]);
  writeFileSync(file, bytes);
  for (const args of [['policy', 'generate', file]]) {
    const r = await runCli(args);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${file} is not valid UTF-8 (line 6)`), r.stderr);
  }
  assert.deepEqual(readFileSync(file), bytes);
});

test('valid UTF-8 (multi-byte characters, a BOM) is kept byte for byte', () => {
  const text = '\uFEFFapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # Grüße, 日本\ndata: {a: "ü"}\n';
  const f = parseKubeFile('u.yaml', Buffer.from(text, 'utf8'));
  assert.equal(serializeKubeFile(f), text);
});

test('an existing manifest.json that is not UTF-8 is refused, not rewritten', async () => {
  const { readManifestFile } = await import('../src/contrast/manifest.js');
  const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
  const file = join(dir, 'manifest.json');
  writeFileSync(
    file,
    Buffer.concat([Buffer.from('{\n  "Policies": {},\n  "x": "M'), Buffer.from([0xfc, 0x22, 0x0a, 0x7d])]),
  );
  await assert.rejects(readManifestFile(file), { message: `${file} is not valid UTF-8 (line 3)` });
});
