// The Contrast platforms: which runtime handler a workload runs under, how its images are pulled
// (which decides the policy flavour and the annotation carrying it) and which TEE's reference values
// the Coordinator checks. One table so that the CLI, the runtime-class patcher and the manifest agree.
import { ContrastError } from '../internal/errors.js';
import { RUNTIME_CLASS_PREFIX } from '../kube/workloads.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../policy/initdata.js';
import type { Flavour } from '../policy/settings.js';

export type ReferenceValueKind = 'snp' | 'tdx';

export interface PlatformInfo {
  /** Contrast's spelling, e.g. `Metal-QEMU-SNP`. */
  name: string;
  /** Lower-case slug used in runtime class names, e.g. `metal-qemu-snp`. */
  slug: string;
  /** `contrast-cc-<slug>`: runtime class names of this platform start with it. */
  handlerPrefix: string;
  flavour: Flavour;
  /** Pod-template annotation that carries the policy. */
  annotation: string;
  referenceValues: ReferenceValueKind;
  gpu: boolean;
  /** Default guest memory (MiB) the runtime gives the VM. */
  memoryMiB: number;
  /** No longer shipped by Contrast; accepted so old deployments can still be regenerated. */
  historical: boolean;
}

/** Handler used when no platform is known; every workload must then name an explicit class. */
export const UNKNOWN_HANDLER = `${RUNTIME_CLASS_PREFIX}-unknown`;

function platform(
  name: string,
  flavour: Flavour,
  referenceValues: ReferenceValueKind,
  options: { gpu?: boolean; historical?: boolean } = {},
): PlatformInfo {
  const slug = name.toLowerCase();
  return {
    name,
    slug,
    handlerPrefix: `${RUNTIME_CLASS_PREFIX}-${slug}`,
    flavour,
    annotation: flavour === 'host-pull' ? POLICY_ANNOTATION : INITDATA_ANNOTATION,
    referenceValues,
    gpu: options.gpu ?? false,
    memoryMiB: options.gpu ? 1024 : 512,
    historical: options.historical ?? false,
  };
}

export const PLATFORMS: readonly PlatformInfo[] = [
  platform('Metal-QEMU-SNP', 'guest-pull', 'snp'),
  platform('Metal-QEMU-SNP-GPU', 'guest-pull', 'snp', { gpu: true }),
  platform('Metal-QEMU-TDX', 'guest-pull', 'tdx'),
  platform('Metal-QEMU-TDX-GPU', 'guest-pull', 'tdx', { gpu: true }),
  platform('AKS-CLH-SNP', 'host-pull', 'snp', { historical: true }),
];

/** `--reference-values` value → platform; case-insensitive like Contrast. */
export function platformByName(name: string): PlatformInfo {
  const p = PLATFORMS.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!p) {
    throw new ContrastError(`unknown platform "${name}"`, {
      code: 'UNKNOWN_PLATFORM',
      hint: `use one of ${PLATFORMS.map((x) => x.name).join(', ')}`,
    });
  }
  return p;
}

export interface ParsedRuntimeClass {
  platform: PlatformInfo;
  /** Node-installer runtime hash (8 hex chars in releases), '' when the class names only the platform. */
  hash: string;
}

/**
 * Parses `contrast-cc-<platform>[-<hash>]`. Returns undefined for `contrast-cc` itself and for classes
 * that are not Contrast's; throws for a `contrast-cc-…` class whose platform is unknown.
 */
export function parseRuntimeClass(name: string): ParsedRuntimeClass | undefined {
  if (!name.startsWith(`${RUNTIME_CLASS_PREFIX}-`)) return undefined;
  // Longest slug first: `metal-qemu-snp-gpu` must not be taken for `metal-qemu-snp` + hash `gpu`.
  const candidates = [...PLATFORMS].sort((a, b) => b.handlerPrefix.length - a.handlerPrefix.length);
  for (const p of candidates) {
    if (name === p.handlerPrefix) return { platform: p, hash: '' };
    if (name.startsWith(`${p.handlerPrefix}-`)) {
      const hash = name.slice(p.handlerPrefix.length + 1);
      if (!/^[0-9a-z]+$/.test(hash)) {
        throw new ContrastError(`runtime class "${name}": "${hash}" is not a runtime hash`, {
          code: 'BAD_RUNTIME_CLASS',
        });
      }
      return { platform: p, hash };
    }
  }
  throw new ContrastError(`runtime class "${name}" names no known platform`, {
    code: 'BAD_RUNTIME_CLASS',
    hint: `expected contrast-cc-<platform>-<hash> with platform one of ${PLATFORMS.map((x) => x.slug).join(', ')}`,
  });
}

/** `contrast-cc-<slug>-<hash>`. */
export function runtimeHandler(p: PlatformInfo, hash: string): string {
  return hash ? `${p.handlerPrefix}-${hash}` : p.handlerPrefix;
}
