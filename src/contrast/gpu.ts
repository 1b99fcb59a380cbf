// Which pods run under a GPU runtime. cli/cmd/generate.go patchRuntimeClassName (edgelesssys/contrast
// 07b05e7ac7532980faf76be4ddf347da7145a17e): only a pod whose runtimeClassName is the generic one
// ("contrast-cc" or "kata-cc-isolation") is given the default handler and, when
// kuberesource.PodSpecRequiresGPU(spec), the handler of platform.WithGPU() instead. A pod naming its
// platform (contrast-cc-<platform>[-<hash>]) gets that platform's handler and is never switched.
import { ContrastError } from '../internal/errors.js';
import { PLATFORMS, type PlatformInfo } from './platforms.js';
import { describe, runtimeClassName } from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';
import { isDefaultRuntimeClass } from './runtime.js';
import { podGPUs } from './vcpus.js';

/**
 * The GPU platform `w` switches to, or undefined. PodSpecRequiresGPU's body is not in the stored Go
 * sources; a pod needs a GPU when its limits name one of GPU_RESOURCES (vcpus.ts): `nvidia.com/gpu`,
 * which GetPodGPUCount counts, and the named GPUs Contrast's docs request with the generic class.
 */
export function gpuPlatformFor(
  w: Workload,
  defaultPlatform: PlatformInfo | undefined,
): PlatformInfo | undefined {
  const rc = runtimeClassName(w);
  if (rc === undefined || !isDefaultRuntimeClass(rc) || !defaultPlatform || defaultPlatform.gpu)
    return undefined;
  if (podGPUs(w) === 0) return undefined;
  const gpu = PLATFORMS.find((x) => x.name === `${defaultPlatform.name}-GPU`);
  if (!gpu)
    throw new ContrastError(`${describe(w)}: requests GPUs, but ${defaultPlatform.name} has no GPU variant`, {
      code: 'NO_PLATFORM',
    });
  return gpu;
}
