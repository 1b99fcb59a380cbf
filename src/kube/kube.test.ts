import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContrastError } from '../internal/errors.js';
import {
  ConfigObjects,
  findWorkloads,
  getPodAnnotation,
  parseKubeFile,
  podTemplate,
  readKubeFiles,
  serializeKubeFile,
  setPodAnnotation,
  workloadImages,
} from './index.js';

const testdata = join(import.meta.dirname, 'testdata');

test('an unchanged file round-trips byte for byte', async () => {
  const text = await readFile(join(testdata, 'commented.yaml'), 'utf8');
  assert.equal(serializeKubeFile(parseKubeFile('commented.yaml', text)), text);
});

test('adding an annotation changes only that line (golden)', async () => {
  const text = await readFile(join(testdata, 'commented.yaml'), 'utf8');
  const f = parseKubeFile('commented.yaml', text);
  const [w] = findWorkloads([f]);
  assert.ok(w);
  setPodAnnotation(w, 'io.katacontainers.config.agent.policy', 'cG9saWN5');
  const out = serializeKubeFile(f);
  const expected = text.replace(
    '        example.com/order: b\n',
    '        example.com/order: b\n        io.katacontainers.config.agent.policy: cG9saWN5\n',
  );
  assert.equal(out, expected);
  // Replacing it again edits the same line in place.
  setPodAnnotation(w, 'io.katacontainers.config.agent.policy', 'bmV3');
  assert.equal(serializeKubeFile(f), expected.replace('cG9saWN5', 'bmV3'));
  assert.equal(getPodAnnotation(w, 'io.katacontainers.config.agent.policy'), 'bmV3');
});

test('annotations and metadata are created when missing, inside Lists and CronJobs', async () => {
  const text = await readFile(join(testdata, 'pod-no-metadata-annotations.yaml'), 'utf8');
  const f = parseKubeFile('x.yaml', text);
  const ws = findWorkloads([f]);
  assert.deepEqual(
    ws.map((w) => [w.kind, w.name, w.namespace, w.templatePath.join('.')]),
    [
      ['Pod', 'listed', 'default', 'items.0'],
      ['CronJob', 'cron', 'jobs', 'items.1.spec.jobTemplate.spec.template'],
    ],
  );
  assert.deepEqual(workloadImages(ws[1]!), [
    'localhost:5000/init',
    'busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  ]);
  for (const w of ws) setPodAnnotation(w, 'k', 'v');
  const out = serializeKubeFile(f);
  const again = parseKubeFile('x.yaml', out);
  const ws2 = findWorkloads([again]);
  assert.equal(getPodAnnotation(ws2[0]!, 'k'), 'v');
  assert.equal(getPodAnnotation(ws2[1]!, 'k'), 'v');
  assert.deepEqual(podTemplate(ws2[1]!).metadata, { annotations: { k: 'v' } });
  // Everything else is unchanged: the input's lines are a subsequence of the output's, plus 5 new
  // lines (Pod: annotations + key; CronJob template: metadata + annotations + key).
  const inLines = text.split('\n');
  const outLines = out.split('\n');
  assert.equal(outLines.length, inLines.length + 5);
  let i = 0;
  for (const l of outLines) if (l === inLines[i]) i++;
  assert.equal(i, inLines.length);
});

test('runtime class prefix selects workloads; empty prefix selects all', () => {
  const f = parseKubeFile(
    'p.yaml',
    'kind: Pod\nmetadata: {name: a}\nspec: {runtimeClassName: kata, containers: [{name: c, image: x}]}\n',
  );
  assert.equal(findWorkloads([f]).length, 0);
  assert.equal(findWorkloads([f], { runtimeClassPrefix: 'kata' }).length, 1);
  assert.equal(findWorkloads([f], { runtimeClassPrefix: '' }).length, 1);
});

test('malformed YAML names file, line and column', () => {
  assert.throws(
    () => parseKubeFile('bad.yaml', 'kind: Pod\nmetadata:\n  name: [a, b\nspec: {}\n'),
    (err: unknown) => err instanceof ContrastError && /^bad\.yaml:\d+:\d+: invalid YAML/.test(err.message),
  );
  assert.throws(
    () => parseKubeFile('tab.yaml', 'a: 1\n\tb: 2\n'),
    (err: unknown) => err instanceof ContrastError && err.message.startsWith('tab.yaml:2:'),
  );
});

test('unknown kinds and unknown fields pass through untouched', () => {
  const text =
    'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {whatever: [1, 2]}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: contrast-cc\n  futureField: {x: 1}\n  containers: [{name: c, image: x, newThing: true}]\n';
  const f = parseKubeFile('u.yaml', text);
  const ws = findWorkloads([f]);
  assert.equal(ws.length, 1);
  assert.equal(serializeKubeFile(f), text);
});

test('ConfigMaps and Secrets are matched by name and namespace', () => {
  const f = parseKubeFile(
    'c.yaml',
    [
      'kind: ConfigMap\nmetadata: {name: cfg, namespace: a}\ndata: {k: va}\nbinaryData: {b: AAE=}',
      'kind: ConfigMap\nmetadata: {name: cfg}\ndata: {k: vdefault}',
      'kind: Secret\nmetadata: {name: s, namespace: a}\ndata: {p: cGFzcw==}\nstringData: {q: plain}',
    ].join('\n---\n'),
  );
  const c = ConfigObjects.from([f]);
  assert.equal(c.get('ConfigMap', 'a', 'cfg')?.data['k'], 'va');
  assert.equal(c.get('ConfigMap', 'default', 'cfg')?.data['k'], 'vdefault');
  assert.equal(c.get('ConfigMap', 'b', 'cfg'), undefined);
  assert.equal(c.get('ConfigMap', 'a', 'cfg')?.binaryData['b'], 'AAE=');
  assert.deepEqual(c.get('Secret', 'a', 's')?.data, { p: 'pass', q: 'plain' });
});

test('readKubeFiles walks directories recursively, .yml/.yaml only, sorted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kube-'));
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'b.yaml'), 'kind: B\n');
  await writeFile(join(dir, 'a.yml'), 'kind: A\n');
  await writeFile(join(dir, 'notes.txt'), 'not yaml: [\n');
  await writeFile(join(dir, 'sub', 'c.yaml'), 'kind: C\n');
  const files = await readKubeFiles([dir]);
  assert.deepEqual(
    files.map((f) => f.path.slice(dir.length + 1)),
    ['a.yml', 'b.yaml', join('sub', 'c.yaml')],
  );
  await assert.rejects(readKubeFiles([join(dir, 'missing.yaml')]), /missing\.yaml: cannot read: ENOENT/);
});

test('readKubeFiles reads every file at once but reports errors in file order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kube-'));
  await writeFile(join(dir, 'a.yaml'), 'kind: [A\n');
  await writeFile(join(dir, 'b.yaml'), Buffer.from([0x6b, 0x3a, 0x20, 0xff, 0x0a])); // invalid UTF-8
  await writeFile(join(dir, 'c.yaml'), 'kind: C\n');
  // a.yaml's YAML error wins over b.yaml's unreadable text, as when the files were read one by one;
  // b.yaml's failure must not surface as an unhandled rejection either.
  await assert.rejects(readKubeFiles([dir]), /a\.yaml:\d+:\d+: invalid YAML/);
  await new Promise((r) => setImmediate(r));
  await writeFile(join(dir, 'a.yaml'), 'kind: A\n');
  await assert.rejects(readKubeFiles([dir]), /b\.yaml is not valid UTF-8/);
});

test('readKubeFiles reads a directory of 600 files under a 128-descriptor limit (bounded read-ahead)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kube-many-'));
  for (let i = 0; i < 600; i++)
    await writeFile(join(dir, `f${String(i).padStart(3, '0')}.yaml`), `kind: K${i}\n`);
  const script = `const { readKubeFiles } = await import(${JSON.stringify(join(import.meta.dirname, 'yaml.ts'))});
const files = await readKubeFiles([${JSON.stringify(dir)}]);
console.log(files.length, files[599].docs[0].get('kind'));`;
  const r = spawnSync(
    'bash',
    ['-c', 'ulimit -n 128 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
    { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '600 K599');
});

test('empty metadata or annotations are filled in; new metadata goes first in the template', () => {
  const text = [
    'kind: Pod\nmetadata:\n  name: a\n  annotations:\nspec: {runtimeClassName: contrast-cc, containers: [{name: c, image: x}]}\n',
    'kind: Job\nmetadata: {name: j}\nspec:\n  template:\n    metadata:\n    spec: {runtimeClassName: contrast-cc, containers: [{name: c, image: x}]}\n',
    'kind: Job\nmetadata: {name: k}\nspec:\n  template:\n    spec: {runtimeClassName: contrast-cc, containers: [{name: c, image: x}]}\n',
  ].join('---\n');
  const f = parseKubeFile('e.yaml', text);
  for (const w of findWorkloads([f])) setPodAnnotation(w, 'k', 'v');
  const out = serializeKubeFile(f);
  const ws = findWorkloads([parseKubeFile('e.yaml', out)]);
  assert.deepEqual(
    ws.map((w) => getPodAnnotation(w, 'k')),
    ['v', 'v', 'v'],
  );
  assert.ok(out.includes('  template:\n    metadata:\n      annotations:\n        k: v\n    spec:'), out);
});

test('CRLF files keep their line ends', () => {
  const text =
    'kind: Pod\r\nmetadata:\r\n  name: a # c\r\nspec:\r\n  runtimeClassName: contrast-cc\r\n  containers: [{name: c, image: x}]\r\n';
  const f = parseKubeFile('crlf.yaml', text);
  assert.equal(serializeKubeFile(f), text);
  setPodAnnotation(findWorkloads([f])[0]!, 'k', 'v');
  assert.equal(
    serializeKubeFile(f),
    text.replace('  name: a # c\r\n', '  name: a # c\r\n  annotations:\r\n    k: v\r\n'),
  );
});

test('YAML merge keys and anchors are resolved like Kubernetes does (and kept in the output)', () => {
  const one =
    'kind: Pod\nmetadata: {name: m}\nspec:\n  runtimeClassName: contrast-cc\n  x-c: &c {name: c, image: "reg/app:1"}\n  containers:\n    - <<: *c\n      args: [a]\n';
  const f = parseKubeFile('m.yaml', one);
  const [w] = findWorkloads([f]);
  assert.deepEqual(workloadImages(w!), ['reg/app:1']);
  setPodAnnotation(w!, 'k', 'v');
  assert.ok(serializeKubeFile(f).includes('    - <<: *c\n'));
});
