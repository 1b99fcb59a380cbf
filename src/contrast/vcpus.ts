// The vCPU count of an SNP pod VM (contrast-generate.md §4.5). On SNP the launch measurement depends on
// the number of vCPUs, so Contrast fixes it per pod at generate time instead of letting Kata size the VM
// at runtime: `io.katacontainers.config.hypervisor.default_vcpus` on the pod template.
//
// Formula as in Contrast's `patchIDBlockAnnotation` / `getNeededCPUCount` (edgelesssys/contrast,
// cli/cmd/generate.go):
//   regular = Σ containers + Σ init containers with restartPolicy Always (sidecars keep running)
//   init    = Σ ALL init containers (sidecars included, as Contrast does)
//   pod     = pod-level spec.resources
//   vCPUs   = ceil(max(regular, init, pod) / 1000 milliCPU) + 1 (one for the hypervisor overhead)
// Each entry counts max(requests.cpu, limits.cpu) in milliCPU, rounded up like Quantity.MilliValue().
// Contrast's injected containers (Initializer, mesh, …) carry memory only, so they add 0 — but they
// are counted like any container, since the count runs after the injections.
import { ContrastError } from '../internal/errors.js';
import { containers, describe, getJS, podSpecPath } from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';

export const VCPUS_ANNOTATION = 'io.katacontainers.config.hypervisor.default_vcpus';

const DECIMAL_SUFFIX: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

/**
 * A Kubernetes quantity ("500m", "2", "1.5", "0.25", "1e3", "1Ki") in thousandths, rounded up
 * (Quantity.MilliValue). Numbers from YAML (`cpu: 2`, `cpu: 0.5`) are accepted too. Undefined when the
 * text is not a quantity.
 */
export function quantityMilli(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const m = QUANTITY.exec(String(value).trim());
  if (!m) return undefined;
  const [, sign, num, suffix, exp] = m;
  const [intPart = '', frac = ''] = num!.split('.');
  // value = digits × 10^(exp10 - frac.length) × binary, × 1000 for milli
  let numerator = BigInt((intPart || '0') + frac) * 1000n;
  let denominator = 1n;
  let exp10 = -frac.length;
  if (suffix && suffix in BINARY_SUFFIX) numerator *= BINARY_SUFFIX[suffix]!;
  else exp10 += DECIMAL_SUFFIX[suffix ?? '']!;
  if (exp !== undefined) exp10 += Number(exp);
  if (exp10 >= 0) numerator *= 10n ** BigInt(exp10);
  else denominator = 10n ** BigInt(-exp10);
  const milli = sign === '-' ? -(numerator / denominator) : ceilDiv(numerator, denominator);
  return Number(milli);
}

/** max(requests.cpu, limits.cpu) in milliCPU of a `resources` object; 0 when neither is set. */
function neededMilli(
  resources: unknown,
  where: () => string,
  kinds: ReadonlyArray<'requests' | 'limits'> = ['requests', 'limits'],
): number {
  if (!resources || typeof resources !== 'object') return 0;
  let most = 0;
  for (const kind of kinds) {
    const cpu = (resources as Record<string, unknown>)[kind] as Record<string, unknown> | undefined;
    const raw = cpu && typeof cpu === 'object' ? cpu['cpu'] : undefined;
    if (raw === undefined || raw === null) continue;
    const milli = quantityMilli(raw);
    if (milli === undefined || milli < 0) {
      throw new ContrastError(`${where()}: resources.${kind}.cpu "${String(raw)}" is not a CPU quantity`, {
        code: 'BAD_RESOURCES',
        hint: 'use a Kubernetes quantity such as 500m, 1, 1.5 or 0.25',
      });
    }
    most = Math.max(most, milli);
  }
  return most;
}

export type VCPUFormula = 'max-request-limit' | 'limits';

/**
 * The vCPU count Contrast gives the pod's VM (see the file comment for the formula). `limits` is the
 * 2026 line (kuberesource.GetPodCPUCount: CPU limits only, plus the always-added vCPU — see
 * cli/verifier/cpu_count_valid_test.go "invalid because of always-added CPU" and gpu_count_valid_test.go
 * "only 1 vCPU (hypervisor overhead)"); the regular/init/pod-level structure is the 2025 one, as the
 * 2026 function body was not available to us.
 */
export function podVCPUs(w: Workload, formula: VCPUFormula = 'max-request-limit'): number {
  const kinds: ReadonlyArray<'requests' | 'limits'> =
    formula === 'limits' ? ['limits'] : ['requests', 'limits'];
  let regular = 0;
  let init = 0;
  for (const c of containers(w)) {
    const milli = neededMilli(
      c.node.toJSON()?.resources,
      () => `${describe(w)} container "${c.name}"`,
      kinds,
    );
    if (c.list === 'containers') regular += milli;
    else {
      init += milli;
      if (c.node.get('restartPolicy') === 'Always') regular += milli;
    }
  }
  const spec = podSpecPath(w);
  const pod = spec
    ? neededMilli(getJS(w.doc, [...spec, 'resources']), () => `${describe(w)} pod resources`, kinds)
    : 0;
  return Math.ceil(Math.max(regular, init, pod) / 1000) + 1;
}

/**
 * The GPU resources a pod's limits name, each a whole GPU:
 * - `nvidia.com/gpu`, which Contrast's GPU verifier counts (cli/verifier/gpu_count_valid_test.go);
 * - `nvidia.com/pgpu`, genpolicy's pass-through GPU key (its settings' devices.vfio.nvidia.pgpu_resource_keys);
 * - the named GPUs Contrast's production settings add to those keys
 *   (packages/by-name/kata/genpolicy/genpolicy_settings_prod.patch @2219980f) and that its GPU docs and
 *   e2e test request with the generic class (docs GPU-configuration.md: limits "nvidia.com/GH100_H100_PCIE": 1;
 *   e2e/gpu: nvidia.com/GB100_B200 on Metal-QEMU-TDX-GPU, nvidia.com/GH100_H100_PCIE on Metal-QEMU-SNP-GPU).
 * The built-in guest-pull settings list the same keys (test/release-gpu.test.ts keeps them equal).
 */
export const GPU_RESOURCES: readonly string[] = [
  'nvidia.com/gpu',
  'nvidia.com/pgpu',
  'nvidia.com/GB100_B200',
  'nvidia.com/GB110_B300_SXM6_AC',
  'nvidia.com/GH100_H100_PCIE',
];

/** Σ over the pod's containers of their GPU limits (kuberesource.GetPodGPUCount). */
export function podGPUs(w: Workload): number {
  let n = 0;
  for (const c of containers(w, 'containers')) {
    const limits = (c.node.toJSON() as { resources?: { limits?: Record<string, unknown> } })?.resources
      ?.limits;
    for (const key of GPU_RESOURCES) {
      const v = limits?.[key];
      if (v === undefined || v === null) continue;
      const milli = quantityMilli(v);
      if (milli === undefined || milli < 0)
        throw new ContrastError(
          `${describe(w)} container "${c.name}": limits.${key} "${String(v)}" is not a count`,
          {
            code: 'BAD_RESOURCES',
          },
        );
      n += Math.ceil(milli / 1000);
    }
  }
  return n;
}
