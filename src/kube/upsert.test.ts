// Issue 15: an upsert of what a pod already holds keeps the parsed nodes (so the document keeps its
// parse-time shape and is written back without rendering); what differs is still written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMap } from 'yaml';
import { documentToJS, findWorkloads, parseKubeFile, serializeKubeFile } from './index.js';
import { upsertInitContainer, upsertMount } from './pod.js';

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  runtimeClassName: contrast-cc
  initContainers:
    - name: "init"   # hand-written: quoted, commented
      image: 'reg.example/init:v1'
      env: [{name: A, value: "1"}]
      volumeMounts:
        - {name: secrets, mountPath: /contrast}
  containers:
    - name: app
      image: reg.example/app:v1
`;
const INIT = {
  name: 'init',
  image: 'reg.example/init:v1',
  env: [{ name: 'A', value: '1' }],
  volumeMounts: [{ name: 'secrets', mountPath: '/contrast' }],
};

function pod() {
  const f = parseKubeFile('pod.yml', POD);
  return { f, w: findWorkloads([f])[0]! };
}
const initOf = (f: ReturnType<typeof pod>['f']) =>
  (documentToJS(f.docs[0]!, 'pod.yml') as { spec: { initContainers: unknown[] } }).spec.initContainers;

test('upsert of an equal init container or mount keeps the document byte for byte (style and comments)', () => {
  const { f, w } = pod();
  upsertInitContainer(w, INIT, 'in-place-or-last');
  upsertInitContainer(w, INIT, 'first');
  const node = (f.docs[0]!.getIn(['spec', 'initContainers', 0], true) as unknown)!;
  assert.ok(isMap(node));
  upsertMount(w, node, { name: 'secrets', mountPath: '/contrast' });
  assert.equal(serializeKubeFile(f), POD);
});

test('upsert writes what differs: a changed value in place, another layout as a new node', () => {
  for (const next of [
    { ...INIT, image: 'reg.example/init@sha256:' + 'a'.repeat(64) },
    {
      ...INIT,
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
    },
    { name: 'init', image: 'reg.example/init:v1', args: ['x'] },
    { ...INIT, env: [{ name: 'A', value: 1 }] },
  ]) {
    const { f, w } = pod();
    upsertInitContainer(w, next, 'in-place-or-last');
    const out = serializeKubeFile(f);
    assert.notEqual(out, POD);
    assert.deepEqual(initOf(parseKubeFile('pod.yml', out)), [next]);
  }
});

test('an anchored container is replaced, not edited in place (what aliases it is left alone)', () => {
  const { f, w } = pod();
  const anchored = f.docs[0]!.getIn(['spec', 'initContainers', 0], true) as {
    anchor?: string;
    toJSON(): unknown;
  };
  anchored.anchor = 'c';
  const before = JSON.stringify(anchored.toJSON());
  upsertInitContainer(w, { ...INIT, image: 'reg.example/init:v2' }, 'in-place-or-last');
  assert.equal(JSON.stringify(anchored.toJSON()), before);
  assert.notEqual(f.docs[0]!.getIn(['spec', 'initContainers', 0], true), anchored);
});
