// What differs between the Contrast release lines `generate` supports. Each entry is taken from the Go
// source of that line (edgelesssys/contrast), cited per field; `generate` consults this table instead
// of hard-coding one release's behaviour.
export type ReleaseLineName = '2025' | '2026';
export type ReleaseLine = ReleaseLineName;

export interface ReleaseLineInfo {
  name: ReleaseLineName;
  /** Manifest field holding the workload owner keys (internal/manifest/manifest.go `Manifest`). */
  ownerKeyField: 'WorkloadOwnerKeyDigests' | 'WorkloadOwnerPubKeys';
  /** Coordinator policies a manifest needs: 2025 `CoordinatorCountError` (exactly 1), 2026 `ErrMissingCoordinator` (≥ 1). */
  coordinators: 'exactly-one' | 'at-least-one';
  /**
   * vCPU count of an SNP pod VM: 2025 `getNeededCPUCount` = max(request, limit) per container, written
   * as `default_vcpus`; 2026 `kuberesource.GetPodCPUCount` counts CPU limits only and writes no
   * `default_vcpus` (cli/verifier/cpu_count_valid.go, gpu_count_valid_test.go: limits + 1 always-added vCPU).
   */
  vcpus: 'max-request-limit' | 'limits';
  /** SNP ID blocks: 2025 looked up in the CLI's table (`contrast.edgeless.systems/snp-id-block/<platform>`); 2026 computed. */
  idBlocks: 'table' | 'computed';
  /** Verifiers added in 2026 (cli/verifier/cpu_count_valid.go, gpu_count_valid.go). */
  countVerifiers: boolean;
}

export const RELEASE_LINES: readonly ReleaseLineInfo[] = [
  {
    name: '2026',
    ownerKeyField: 'WorkloadOwnerPubKeys',
    coordinators: 'at-least-one',
    vcpus: 'limits',
    idBlocks: 'computed',
    countVerifiers: true,
  },
  {
    name: '2025',
    ownerKeyField: 'WorkloadOwnerKeyDigests',
    coordinators: 'exactly-one',
    vcpus: 'max-request-limit',
    idBlocks: 'table',
    countVerifiers: false,
  },
];

export function lineInfo(name: ReleaseLineName): ReleaseLineInfo {
  return RELEASE_LINES.find((l) => l.name === name)!;
}
