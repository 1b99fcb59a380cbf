// The field names and order of Contrast's reference-value structs per release line: read by the
// reference-values validator and writer (referencevalues.ts) and by the Go-JSON key folding
// (gojson.ts), which referencevalues.ts itself uses — so they live apart from both.
export type SNPReferenceValues = Record<string, unknown>;
export type TDXReferenceValues = Record<string, unknown>;

export interface ReferenceValues {
  snp?: SNPReferenceValues[];
  tdx?: TDXReferenceValues[];
}

// Field order of Contrast's Go structs (encoding/json writes struct fields in declaration order), per
// release line. 2025: internal/manifest/referencevalues.go SNPReferenceValues {Platform, ProductName,
// TrustedMeasurement, MinimumTCB, GuestPolicy, PlatformInfo, MinimumMitigationVector, AllowedChipIDs}.
// 2026 adds APEIP (internal/manifest/manifest.go SNPValidateOpts reads refVal.APEIP; field position
// as in the 2026 manifest fixtures, after TrustedMeasurement). PlatformInfo names: see below.
export type ReferenceValueLine = '2025' | '2026';

const SNP_FIELDS_2025 = [
  'Platform',
  'ProductName',
  'TrustedMeasurement',
  'MinimumTCB',
  'GuestPolicy',
  'PlatformInfo',
  'MinimumMitigationVector',
  'AllowedChipIDs',
] as const;
const SNP_FIELDS_2026 = [...SNP_FIELDS_2025.slice(0, 3), 'APEIP', ...SNP_FIELDS_2025.slice(3)] as const;
export const SNP_TCB_FIELDS = ['BootloaderVersion', 'TEEVersion', 'SNPVersion', 'MicrocodeVersion'] as const;
export const SNP_GUEST_POLICY_FIELDS = [
  'ABIMinor',
  'ABIMajor',
  'SMT',
  'MigrateMA',
  'Debug',
  'SingleSocket',
  'CXLAllowed',
  'MemAES256XTS',
  'RAPLDis',
  'CipherTextHidingDRAM',
  'PageSwapDisable',
] as const;
// go-sev-guest abi.SnpPlatformInfo. There never was a `CiphertextHidingEnabled`: bits 2–5 arrived as
// ECCEnabled, RAPLDisabled, CiphertextHidingDRAMEnabled, AliasCheckComplete (google/go-sev-guest
// d30defa, v0.13.0, 2024-12-16) and TIOEnabled in the edgelesssys fork Contrast builds with (97601b6,
// 2025-08-11; upstream f732359, 2025-11-13). Contrast's own pre-APEIP manifests carry all seven
// (edgelesssys/contrast sdk/verify_test.go at 0258343e8d207fe326c1d3c750dd3f22bdee69a5), so both
// lines share the list.
export const SNP_PLATFORM_INFO_FIELDS = [
  'SMTEnabled',
  'TSMEEnabled',
  'ECCEnabled',
  'RAPLDisabled',
  'CiphertextHidingDRAMEnabled',
  'AliasCheckComplete',
  'TIOEnabled',
] as const;
export const TDX_FIELDS = [
  'Platform',
  'MinTCBEvaluationDataNumber',
  'MrTd',
  'MrSeam',
  'Rtmrs',
  'Xfam',
  'AllowedPIIDs',
  'MemoryIntegrity',
  'SMTDisabled',
  'StaticPlatform',
] as const;

export function snpFields(line: ReferenceValueLine = '2025'): readonly string[] {
  return line === '2026' ? SNP_FIELDS_2026 : SNP_FIELDS_2025;
}
