// GPU pods and the GPU runtime handler, as cli/cmd/generate.go patchRuntimeClassName decides
// (edgelesssys/contrast 07b05e7ac7532980faf76be4ddf347da7145a17e).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findWorkloads, parseKubeFile } from '../src/kube/index.js';
import { platformByName } from '../src/contrast/platforms.js';
import { gpuPlatformFor } from '../src/contrast/gpu.js';
import { GPU_RESOURCES, podGPUs } from '../src/contrast/vcpus.js';
import { readFileSync } from 'node:fs';

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
  test("the named GPUs Contrast's docs and e2e test request with the generic class switch too", () => {
    // docs/docs/howto/workload-deployment/GPU-configuration.md: runtimeClassName contrast-cc with
    // limits "nvidia.com/GH100_H100_PCIE": 1; e2e/gpu/gpu_test.go: nvidia.com/GB100_B200 on
    // Metal-QEMU-TDX-GPU, nvidia.com/GH100_H100_PCIE on Metal-QEMU-SNP-GPU.
    assert.equal(
      gpuPlatformFor(
        pod('contrast-cc', '{"nvidia.com/GH100_H100_PCIE": 1}'),
        platformByName('Metal-QEMU-SNP'),
      )?.name,
      'Metal-QEMU-SNP-GPU',
    );
    assert.equal(
      gpuPlatformFor(pod('contrast-cc', '{nvidia.com/GB100_B200: "1"}'), tdx)?.name,
      'Metal-QEMU-TDX-GPU',
    );
    assert.equal(podGPUs(pod('contrast-cc', '{nvidia.com/GB100_B200: "2", nvidia.com/gpu: "1"}')), 3);
    // Not a GPU resource: no switch (the policy stage refuses unknown nvidia.com/ keys by name).
    assert.equal(gpuPlatformFor(pod('contrast-cc', '{nvidia.com/mig-1g.10gb: "1"}'), tdx), undefined);
  });
  test('GPU_RESOURCES are the built-in guest-pull settings pgpu_resource_keys plus nvidia.com/gpu', () => {
    const settings = JSON.parse(
      readFileSync(new URL('../src/policy/settings/guest-pull.json', import.meta.url), 'utf8'),
    ) as { devices: { vfio: { nvidia: { pgpu_resource_keys: string[] } } } };
    assert.deepEqual(
      [...GPU_RESOURCES].sort(),
      ['nvidia.com/gpu', ...settings.devices.vfio.nvidia.pgpu_resource_keys].sort(),
    );
  });
});
