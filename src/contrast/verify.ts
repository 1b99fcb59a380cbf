// Verifiers (contrast-generate.md §3): rules a confidential deployment must satisfy before and after
// patching. Every finding names file, resource, container and rule; all findings are reported at once.
import { ContrastError } from '../internal/errors.js';
import { parseRuntimeClass } from './platforms.js';
import {
  containers,
  describe,
  getJS,
  podSpecPath,
  runtimeClassName,
  workloadAnnotations,
} from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';
import {
  ANNOTATION,
  CONTRAST_IMAGE_PREFIX,
  INITIALIZER_NAME,
  isCoordinator,
  PVC_HOLDER_NAME,
  SERVICE_MESH_NAME,
} from './injections.js';
import { RUNTIME_CLASS_PREFIX } from '../kube/workloads.js';

export interface Finding {
  workload: string;
  container?: string;
  rule: string;
  message: string;
}

export function formatFinding(f: Finding): string {
  return `${f.workload}${f.container ? `: container "${f.container}"` : ''}: ${f.rule}: ${f.message}`;
}

const DIGEST_REF = /^[a-z0-9]+(?:[._-][a-z0-9]+|[.:/-]|[a-zA-Z0-9._-])*@sha256:[0-9a-f]{64}$/;

export function isDigestReference(image: string): boolean {
  return DIGEST_REF.test(image);
}

/** Tag of `name[:tag][@digest]`, '' when there is none. */
export function imageTag(image: string): string {
  const noDigest = image.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? noDigest.slice(colon + 1) : '';
}

/**
 * ImageRefValid. Unlike upstream we check init containers too: an init container runs in the same
 * guest and a tag can move, so it needs a digest as much as a regular container does.
 */
export function verifyImagesPinned(w: Workload, options: { skipContrastImages: boolean }): Finding[] {
  const out: Finding[] = [];
  for (const c of containers(w)) {
    const image = c.node.get('image');
    if (typeof image !== 'string') {
      out.push({
        workload: describe(w),
        container: c.name,
        rule: 'ImageRefValid',
        message: 'container has no image',
      });
      continue;
    }
    if (options.skipContrastImages && image.startsWith(CONTRAST_IMAGE_PREFIX)) continue;
    if (!isDigestReference(image)) {
      out.push({
        workload: describe(w),
        container: c.name,
        rule: 'ImageRefValid',
        message: `image "${image}" is not pinned by digest (expected name[:tag]@sha256:<64 hex>)`,
      });
    }
  }
  return out;
}

/** ServiceMeshEgressNotEmpty. */
export function verifyServiceMeshEgress(w: Workload): Finding[] {
  const v = workloadAnnotations(w)[ANNOTATION.meshEgress];
  if (v !== undefined && v.trim() === '') {
    return [
      {
        workload: describe(w),
        rule: 'ServiceMeshEgressNotEmpty',
        message: `annotation ${ANNOTATION.meshEgress} is present but empty`,
      },
    ];
  }
  return [];
}

/** RuntimeClassesExist. */
export function verifyRuntimeClass(w: Workload, options: { haveDefaultPlatform: boolean }): Finding[] {
  const rc = runtimeClassName(w);
  if (rc === undefined) return [];
  if (rc === RUNTIME_CLASS_PREFIX && !options.haveDefaultPlatform) {
    return [
      {
        workload: describe(w),
        rule: 'RuntimeClassesExist',
        message:
          'runtimeClassName "contrast-cc" names no platform: pass --reference-values <platform> or use contrast-cc-<platform>-<hash>',
      },
    ];
  }
  try {
    parseRuntimeClass(rc);
  } catch (err) {
    return [{ workload: describe(w), rule: 'RuntimeClassesExist', message: (err as Error).message }];
  }
  return [];
}

const ALLOWED_VOLUME_TYPES = ['configMap', 'downwardAPI', 'emptyDir', 'ephemeral', 'projected', 'secret'];

/** NoSharedFSMount: host-shared file systems bypass the guest's integrity protection. */
export function verifyNoSharedFSMount(w: Workload): Finding[] {
  const spec = podSpecPath(w);
  if (!spec) return [];
  const volumes = (getJS(w.doc, [...spec, 'volumes']) as Array<Record<string, unknown>> | undefined) ?? [];
  const claimTemplates =
    w.kind === 'StatefulSet'
      ? (
          (getJS(w.doc, [...w.resourcePath, 'spec', 'volumeClaimTemplates']) as
            Array<{ metadata?: { name?: string } }> | undefined) ?? []
        ).map((t) => t.metadata?.name ?? '')
      : [];
  const out: Finding[] = [];
  for (const c of containers(w)) {
    const mounts =
      (c.node.toJSON() as { volumeMounts?: Array<{ name?: string; mountPath?: string }> }).volumeMounts ?? [];
    for (const m of mounts) {
      const vol = volumes.find((v) => v['name'] === m.name);
      if (!vol) {
        const message = claimTemplates.includes(m.name ?? '')
          ? `volume mount "${m.name}" (at ${m.mountPath ?? '?'}) mounts a volumeClaimTemplates claim, a persistentVolumeClaim file system shared with the host; confidential pods must use it as a block device (volumeDevices, volumeMode: Block)`
          : `volume mount "${m.name}" names no volume of the pod`;
        out.push({ workload: describe(w), container: c.name, rule: 'NoSharedFSMount', message });
        continue;
      }
      const type = Object.keys(vol).find((k) => k !== 'name');
      if (!type || !ALLOWED_VOLUME_TYPES.includes(type)) {
        out.push({
          workload: describe(w),
          container: c.name,
          rule: 'NoSharedFSMount',
          message: `volume "${m.name}" (mounted at ${m.mountPath ?? '?'}) is of type ${type ?? 'unknown'}; confidential pods may only mount ${ALLOWED_VOLUME_TYPES.join(', ')} volumes (use volumeDevices for block storage)`,
        });
      }
    }
  }
  return out;
}

/**
 * VersionsMatch, in the form that makes sense outside a Contrast release: Contrast's own components
 * (Coordinator, Initializer, service mesh, PVC holder) must all carry the same tag, so a deployment
 * never mixes releases.
 */
export function verifyInjectedVersions(workloads: readonly Workload[]): Finding[] {
  const seen: Array<{ workload: string; container: string; image: string; tag: string }> = [];
  for (const w of workloads) {
    for (const c of containers(w)) {
      const component =
        [INITIALIZER_NAME, SERVICE_MESH_NAME, PVC_HOLDER_NAME].includes(c.name) ||
        (isCoordinator(w) && c.list === 'containers' && c.index === 0);
      const image = c.node.get('image');
      if (!component || typeof image !== 'string') continue;
      const tag = imageTag(image);
      if (tag && tag !== 'latest') seen.push({ workload: describe(w), container: c.name, image, tag });
    }
  }
  const tags = [...new Set(seen.map((s) => s.tag))];
  if (tags.length <= 1) return [];
  const first = seen[0]!;
  return seen
    .filter((s) => s.tag !== first.tag)
    .map((s) => ({
      workload: s.workload,
      container: s.container,
      rule: 'VersionsMatch',
      message: `image "${s.image}" has version ${s.tag} but ${first.workload} container "${first.container}" has ${first.tag}`,
    }));
}

/**
 * VersionsMatch as Go does it (cli/verifier/versions_match.go): unless the release version contains
 * "dev" or "pre", every container named coordinator (in a pod with role coordinator or no role),
 * contrast-initializer or contrast-service-mesh whose image has a tag must carry the release version.
 * Like Go, only spec.containers are looked at (the injected Initializer and mesh are init containers,
 * so in practice this checks the Coordinator and any such container a user placed in containers).
 */
export function verifyVersionsMatch(workloads: readonly Workload[], version: string): Finding[] {
  if (version.includes('dev') || version.includes('pre')) return [];
  const out: Finding[] = [];
  for (const w of workloads) {
    const role = workloadAnnotations(w)[ANNOTATION.role] ?? '';
    for (const c of containers(w, 'containers')) {
      const versioned =
        (c.name === 'coordinator' && (role === '' || role === 'coordinator')) ||
        c.name === INITIALIZER_NAME ||
        c.name === SERVICE_MESH_NAME;
      const image = c.node.get('image');
      if (!versioned || typeof image !== 'string') continue;
      const tag = imageTag(image);
      if (tag && tag !== version)
        out.push({
          workload: describe(w),
          container: c.name,
          rule: 'VersionsMatch',
          message: `version mismatch: you are attempting to use Contrast version "${version}" with a "${c.name}" resource of version "${tag}"`,
        });
    }
  }
  return out;
}

/**
 * CPUCountValid and GPUCountValid (2026, cli/verifier/cpu_count_valid.go, gpu_count_valid.go): the pod
 * VM gets 1–220 vCPUs, and at least as many vCPUs as GPUs (one guest NUMA node per GPU, each needing a
 * vCPU). Messages are Go's.
 */
export function verifyCounts(w: Workload, vcpus: number, gpus: number): Finding[] {
  const out: Finding[] = [];
  if (vcpus < 1 || vcpus > 220)
    out.push({
      workload: describe(w),
      rule: 'CPUCountValid',
      message: `pod failed verification: currently only 0-7 additional vCPUs are supported (1-8 vCPUs in total), but ${vcpus} were requested`,
    });
  if (gpus > 0 && vcpus < gpus)
    out.push({
      workload: describe(w),
      rule: 'GPUCountValid',
      message: `pod failed verification: GPU workloads require at least as many vCPUs as GPUs, but ${vcpus} vCPUs were requested for ${gpus} GPUs`,
    });
  return out;
}

export function throwFindings(findings: Finding[], phase: string): void {
  if (findings.length === 0) return;
  throw new ContrastError(
    `${phase}: ${findings.length} verifier finding(s):\n  ${findings.map(formatFinding).join('\n  ')}`,
    {
      code: 'VERIFIER',
    },
  );
}

export function verifyBefore(
  workloads: readonly Workload[],
  options: { haveDefaultPlatform: boolean },
): void {
  const findings = workloads.flatMap((w) => [
    ...verifyImagesPinned(w, { skipContrastImages: true }),
    ...verifyServiceMeshEgress(w),
    ...verifyRuntimeClass(w, options),
  ]);
  throwFindings(findings, 'verifying workloads');
}

export function verifyAfter(workloads: readonly Workload[], options: { releaseVersion?: string } = {}): void {
  const findings = [
    ...workloads.flatMap((w) => [
      ...verifyImagesPinned(w, { skipContrastImages: false }),
      ...verifyNoSharedFSMount(w),
    ]),
    ...(options.releaseVersion
      ? verifyVersionsMatch(workloads, options.releaseVersion)
      : verifyInjectedVersions(workloads)),
  ];
  throwFindings(findings, 'verifying patched workloads');
}
