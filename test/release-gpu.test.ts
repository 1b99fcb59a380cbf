// GPU pods and the GPU runtime handler, as cli/cmd/generate.go patchRuntimeClassName decides
// (edgelesssys/contrast 07b05e7ac7532980faf76be4ddf347da7145a17e).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findWorkloads, parseKubeFile } from '../src/kube/index.js';
import { platformByName } from '../src/contrast/platforms.js';
import { gpuPlatformFor } from '../src/contrast/gpu.js';

const pod = (runtimeClass: string, limits: string) =>
  findWorkloads(
    [
      parseKubeFile(
        'p.yml',
        `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: ${runtimeClass}\n  containers:\n    - name: a\n      image: r/a@sha256:${'a'.repeat(64)}\n      resources: {limits: ${limits}}\n`,
      ),
    ],
    { runtimeClassPrefix: '' },
  )[0]!;

describe('GPU runtime handler', () => {
  const tdx = platformByName('Metal-QEMU-TDX');
  test('the generic class (contrast-cc, kata-cc-isolation) with nvidia.com/gpu limits switches to <platform>-GPU', () => {
    assert.equal(
      gpuPlatformFor(pod('contrast-cc', '{nvidia.com/gpu: "1"}'), tdx)?.name,
      'Metal-QEMU-TDX-GPU',
    );
    assert.equal(
      gpuPlatformFor(pod('kata-cc-isolation', '{nvidia.com/gpu: "1"}'), platformByName('Metal-QEMU-SNP'))
        ?.name,
      'Metal-QEMU-SNP-GPU',
    );
    assert.equal(gpuPlatformFor(pod('contrast-cc', '{cpu: "1"}'), tdx), undefined);
  });
  test('a class naming its platform keeps it: Go looks the handler up for that platform, no GPU switch', () => {
    assert.equal(
      gpuPlatformFor(pod('contrast-cc-metal-qemu-tdx-0a0b0c0d', '{nvidia.com/gpu: "1"}'), tdx),
      undefined,
    );
    assert.equal(gpuPlatformFor(pod('contrast-cc-metal-qemu-snp', '{nvidia.com/gpu: "2"}'), tdx), undefined);
  });
  test('a GPU platform as default stays as it is', () => {
    assert.equal(
      gpuPlatformFor(pod('contrast-cc', '{nvidia.com/gpu: "1"}'), platformByName('Metal-QEMU-TDX-GPU')),
      undefined,
    );
  });
});
