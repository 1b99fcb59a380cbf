// Reads that take the parsed nodes directly instead of converting the whole document (annotations, one
// pod annotation, the confidential and all pods in one pass) must give exactly what the conversion
// gives — including through aliases and merge keys, where the nodes alone would be wrong — and must see
// every edit made since (nothing is cached).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { templateAnnotations } from './pod.js';
import {
  findWorkloads,
  findWorkloadsAndAll,
  dataAt,
  workloadImages,
  listResources,
  asRecord,
  getPodAnnotation,
  podTemplate,
  setPodAnnotation,
  type Workload,
} from './workloads.js';
import { documentToJS, parseKubeFile } from './yaml.js';

const key = 'io.katacontainers.config.hypervisor.cc_init_data';

/** The reference: the annotation map as the general conversion gives it. */
function converted(w: Workload): Record<string, unknown> {
  const a = podTemplate(w).metadata['annotations'];
  return a && typeof a === 'object' ? (a as Record<string, unknown>) : {};
}

function workloads(yaml: string): Workload[] {
  return findWorkloads([parseKubeFile('w.yml', yaml)], { runtimeClassPrefix: '' });
}

const pod = (meta: string, extra = '') => `apiVersion: v1
kind: Pod
${extra}metadata:
  name: p
${meta}
spec:
  containers: [{ name: c, image: img }]
`;

const cases: Record<string, string> = {
  plain: pod(`  annotations:\n    ${key}: abc\n    n: 3\n    b: true\n    z: null`),
  absent: pod(''),
  nullAnnotations: pod('  annotations:'),
  scalarAnnotations: pod('  annotations: text'),
  aliasedMap: `common: &ann\n  ${key}: from-anchor\n---\n${pod(`  annotations:\n    x: y`)}---\nkind: Pod\nmetadata:\n  name: q\n  annotations: &a2\n    ${key}: first\nspec:\n  containers: [{ name: c, image: img }]\n---\nkind: Pod\nmetadata:\n  name: r\n  labels: &lab\n    ${key}: label-value\n  annotations: *lab\nspec:\n  containers: [{ name: c, image: img }]\n`,
  aliasedValue: pod(`  labels:\n    v: &v aliased\n  annotations:\n    ${key}: *v`),
  mergeKey: `kind: Pod\nmetadata:\n  name: m\n  labels: &base\n    ${key}: merged\n  annotations:\n    <<: *base\n    other: o\nspec:\n  containers: [{ name: c, image: img }]\n`,
};

test('getPodAnnotation and templateAnnotations give what the full conversion gives', () => {
  for (const [name, yaml] of Object.entries(cases)) {
    for (const w of workloads(yaml)) {
      const full = converted(w);
      const want = typeof full[key] === 'string' ? full[key] : undefined;
      assert.equal(getPodAnnotation(w, key), want, `${name}/${w.name}: getPodAnnotation`);
    }
  }
  for (const [name, yaml] of Object.entries(cases)) {
    for (const w of workloads(yaml)) {
      const want = Object.fromEntries(
        Object.entries(converted(w))
          .filter(([, v]) => v !== null && v !== undefined)
          .map(([k, v]) => [k, String(v)]),
      );
      assert.deepEqual(templateAnnotations(w), want, `${name}/${w.name}: templateAnnotations`);
    }
  }
  // The alias and merge cases really go through the anchor (the nodes alone would miss it).
  const [merged] = workloads(cases['mergeKey']!);
  assert.equal(getPodAnnotation(merged!, key), 'merged');
  const aliased = workloads(cases['aliasedMap']!).find((w) => w.name === 'r')!;
  assert.equal(getPodAnnotation(aliased, key), 'label-value');
  assert.equal(getPodAnnotation(workloads(cases['aliasedValue']!)[0]!, key), 'aliased');
  // An annotations map given by alias was read as the alias node's own fields before.
  assert.deepEqual(templateAnnotations(aliased), { [key]: 'label-value' });
  assert.deepEqual(templateAnnotations(merged!), { [key]: 'merged', other: 'o' });
});

test('reads after an edit see the edit (nothing converted earlier is reused)', () => {
  const [w] = workloads(cases['plain']!);
  assert.equal(getPodAnnotation(w!, key), 'abc');
  assert.equal(templateAnnotations(w!)[key], 'abc');
  setPodAnnotation(w!, key, 'changed');
  setPodAnnotation(w!, 'new', 'added');
  assert.equal(getPodAnnotation(w!, key), 'changed');
  assert.equal(templateAnnotations(w!)['new'], 'added');
  assert.equal(
    (documentToJS(w!.doc, 'w.yml') as { metadata: { annotations: object } }).metadata.annotations[
      key as never
    ],
    'changed',
  );
  const [bare] = workloads(cases['absent']!);
  assert.equal(getPodAnnotation(bare!, key), undefined);
  setPodAnnotation(bare!, key, 'x');
  assert.equal(getPodAnnotation(bare!, key), 'x');
  assert.deepEqual(templateAnnotations(bare!), { [key]: 'x' });
});

test('findWorkloadsAndAll: both lists from one pass, errors in the order of the two calls', () => {
  const cc = (name: string, containers = 'containers: [{ name: c, image: img }]') =>
    `kind: Pod\nmetadata:\n  name: ${name}\nspec:\n  runtimeClassName: contrast-cc\n  ${containers}\n`;
  const plain = (name: string, containers = 'containers: [{ name: c, image: img }]') =>
    `kind: Pod\nmetadata:\n  name: ${name}\nspec:\n  runtimeClassName: kata-cc\n  ${containers}\n`;
  const files = (...docs: string[]) => [parseKubeFile('w.yml', docs.join('---\n'))];
  const ok = files(plain('a'), cc('b'), cc('c'));
  const { workloads: conf, all } = findWorkloadsAndAll(ok, 'contrast-cc');
  assert.deepEqual(
    conf.map((w) => w.name),
    findWorkloads(ok).map((w) => w.name),
  );
  assert.deepEqual(
    all.map((w) => w.name),
    ['a', 'b', 'c'],
  );
  // A malformed other pod before a malformed confidential one: the confidential pod's error.
  const both = files(plain('x', 'nothing: here'), cc('y', 'nothing: here'));
  assert.throws(
    () => findWorkloadsAndAll(both, 'contrast-cc'),
    /\(document 2, Pod\) y: pod template has no spec\.containers/,
  );
  // Only another pod malformed: its error (as the second, prefix-less call threw it).
  const other = files(plain('x', 'nothing: here'), cc('y'));
  assert.throws(
    () => findWorkloadsAndAll(other, 'contrast-cc'),
    /\(document 1, Pod\) x: pod template has no spec\.containers/,
  );
  assert.deepEqual(
    findWorkloads(other).map((w) => w.name),
    ['y'],
    'findWorkloads with the prefix still skips other pods',
  );
});

test('listResources with kinds: other documents skipped unconverted, Lists and unplain kinds still read', () => {
  const text = [
    'kind: Deployment\nmetadata: { name: d }\nspec: { template: { spec: { containers: [] } } }\n',
    'kind: Secret\nmetadata: { name: s1 }\n',
    'kind: List\nitems:\n  - { kind: Secret, metadata: { name: s2 } }\n  - { kind: Pod, metadata: { name: p } }\n',
    'kind: SecretList\nitems:\n  - { kind: Secret, metadata: { name: s3 } }\n',
    'anchors: { k: &k Secret }\nkind: *k\nmetadata: { name: s4 }\n',
  ].join('---\n');
  const files = [parseKubeFile('r.yml', text)];
  const secrets = (rs: ReturnType<typeof listResources>) =>
    rs.filter((r) => r.kind === 'Secret').map((r) => asRecord(r.value['metadata'])['name']);
  const filtered = listResources(files, new Set(['Secret']));
  assert.deepEqual(secrets(filtered), secrets(listResources(files)));
  assert.deepEqual(secrets(filtered), ['s1', 's2', 's3', 's4']);
  assert.ok(!filtered.some((r) => r.kind === 'Deployment'), 'the Deployment was not converted');
});

test('podTemplate, dataAt and workloadImages convert only the part read, with the same result', () => {
  const withAliases = `kind: Deployment
metadata: { name: d, labels: &l { app: x } }
spec:
  template:
    metadata: { labels: *l }
    spec:
      imagePullSecrets: [{ name: pull }]
      serviceAccountName: sa
      containers:
        - &c { name: a, image: img-a }
        - { <<: *c, name: b }
---
kind: Deployment
metadata: { name: e }
spec:
  template:
    metadata: { annotations: { k: v } }
    spec:
      initContainers: [{ name: i, image: img-i }]
      containers: [{ name: a, image: img-a, env: [{ name: N, value: '1' }] }]
`;
  for (const yaml of [withAliases, ...Object.values(cases)]) {
    for (const w of workloads(yaml)) {
      const full = documentToJS(w.doc, w.file.path) as Record<string, unknown>;
      let want: unknown = full;
      for (const p of w.templatePath) want = (want as Record<string, unknown>)[p as string];
      const t = want as { metadata?: unknown; spec?: Record<string, unknown> };
      assert.deepEqual(podTemplate(w), { metadata: t.metadata ?? {}, spec: t.spec ?? {} }, w.name);
      for (const key of ['imagePullSecrets', 'serviceAccountName', 'containers', 'initContainers'])
        assert.deepEqual(dataAt(w, [...w.templatePath, 'spec', key]), t.spec?.[key], `${w.name} ${key}`);
    }
  }
  const [d, e] = workloads(withAliases);
  assert.deepEqual(workloadImages(d!), ['img-a', 'img-a'], 'the merged container has its image');
  assert.deepEqual(workloadImages(e!), ['img-i', 'img-a']);
  // An edit is seen by the next read.
  setPodAnnotation(e!, 'k', 'w');
  assert.equal(asRecord(podTemplate(e!).metadata['annotations'])['k'], 'w');
});
