// Runtime classes (issue 13): every `contrast-cc…` class is patched as the Go CLI selects them by
// prefix (contrast-generate.md §5); near misses of the prefix are reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runtimeClassName } from '../kube/pod.js';
import {
  editDistance,
  isRuntimeClassNearMiss,
  patchRuntimeClass,
  runtimeClassNearMisses,
} from './runtime.js';
import { findWorkloads } from '../kube/workloads.js';
import { parseKubeFile } from '../kube/yaml.js';

function pod(rc: string) {
  const f = parseKubeFile(
    'deploy/app.yaml',
    `apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  runtimeClassName: ${rc}\n  containers: [{name: c, image: x}]\n`,
  );
  return findWorkloads([f], { runtimeClassPrefix: '' })[0]!;
}

const handlers = { defaultHandler: 'contrast-cc-metal-qemu-snp-1a2b3c4d', handlerFor: () => 'unused' };

describe('runtime classes', () => {
  it('patches every class starting with contrast-cc, not only the exact name', () => {
    for (const rc of ['contrast-cc', 'contrast-ccc', 'contrast-cc2']) {
      const w = pod(rc);
      patchRuntimeClass(w, handlers);
      assert.equal(runtimeClassName(w), handlers.defaultHandler, rc);
    }
  });

  it('near misses: within edit distance 2 of contrast-cc, or kata-cc…', () => {
    for (const v of [
      'contrat-cc',
      'contrast_cc',
      'contrast_cc-metal-qemu-snp',
      'Contrast-CC',
      'contast-c',
      'kata-cc-isolation',
      'contrsat-cc-x',
    ])
      assert.equal(isRuntimeClassNearMiss(v, 'contrast-cc'), true, v);
    for (const v of ['contrast-cc', 'contrast-ccc', 'runc', 'kata-qemu', 'gvisor', 'confidential'])
      assert.equal(isRuntimeClassNearMiss(v, 'contrast-cc'), false, v);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('contrat-cc', 'contrast-cc'), 1);
  });

  it('the warning names the file, the resource and the value', () => {
    const [m] = runtimeClassNearMisses([pod('contrat-cc')], 'contrast-cc');
    assert.match(
      m!,
      /^deploy\/app\.yaml: Pod\/app: runtimeClassName "contrat-cc" does not start with "contrast-cc"/,
    );
    assert.deepEqual(runtimeClassNearMisses([pod('runc')], 'contrast-cc'), []);
  });
});
