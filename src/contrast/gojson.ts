// Go's encoding/json matches an object key to a struct field by exact name first and, failing that,
// case-insensitively. Contrast's structs (internal/manifest) carry no json tags except `snp`/`tdx`, so
// the Go CLI reads `guestPolicy`, `platformInfo`, `trustedMeasurement`, `mrTd` … into GuestPolicy,
// PlatformInfo, TrustedMeasurement, MrTd. The reference-values.json a release embeds is written that
// way: packages/by-name/contrast/reference-values/package.nix builds it with Nix's builtins.toJSON from
// camelCase attributes. We fold such keys onto the Go field names before validating, so the same files
// are accepted and what we write back carries the names Go marshals. Keys that match no field stay as
// they are: the strict import reports them as unknown, as Go's DisallowUnknownFields decoder does.
import { isPlainObject } from './validation.js';
import * as fields from './reference-fields.js';

/** Field name → nested shape (applied to an object, or to each element of an array) or null for a leaf. */
export interface GoShape {
  [field: string]: GoShape | null;
}

const leaves = (names: readonly string[]): GoShape => Object.fromEntries(names.map((n) => [n, null]));

// Built on first use: most runs never fold a document.
let shapes: { referenceValues: GoShape; manifest: GoShape } | undefined;

function goShapes(): { referenceValues: GoShape; manifest: GoShape } {
  if (shapes) return shapes;
  const snp: GoShape = {
    ...leaves(fields.snpFields('2026')),
    ...leaves(fields.snpFields('2025')),
    MinimumTCB: leaves(fields.SNP_TCB_FIELDS),
    GuestPolicy: leaves(fields.SNP_GUEST_POLICY_FIELDS),
    PlatformInfo: leaves(fields.SNP_PLATFORM_INFO_FIELDS),
  };
  // internal/manifest/referencevalues.go ReferenceValues {SNP `json:"snp"`, TDX `json:"tdx"`}.
  const referenceValues: GoShape = { snp, tdx: leaves(fields.TDX_FIELDS) };
  // internal/manifest/manifest.go Manifest (both lines' owner-key fields); Policies is a map: keys kept.
  const manifest: GoShape = {
    Policies: null,
    ReferenceValues: referenceValues,
    WorkloadOwnerKeyDigests: null,
    WorkloadOwnerPubKeys: null,
    SeedshareOwnerPubKeys: null,
  };
  return (shapes = { referenceValues, manifest });
}

/** `{snp, tdx}` with Go's field names. */
export function foldReferenceValues(value: unknown): unknown {
  return foldGoKeys(value, goShapes().referenceValues);
}

/** A manifest.json document with Go's field names (what Go's json.Unmarshal reads it as). */
export function foldManifest(value: unknown): unknown {
  const folded = foldGoKeys(value, goShapes().manifest);
  // Policies is a map: its keys (policy hashes) are kept, its values are PolicyEntry structs
  // (internal/manifest/manifest.go, both lines: SANs, WorkloadSecretID, Role) and fold like any struct.
  if (isPlainObject(folded) && isPlainObject(folded['Policies']))
    folded['Policies'] = Object.fromEntries(
      Object.entries(folded['Policies']).map(([hash, entry]) => [hash, foldGoKeys(entry, POLICY_ENTRY)]),
    );
  return folded;
}

const POLICY_ENTRY: GoShape = leaves(['SANs', 'WorkloadSecretID', 'Role']);

/** The field a JSON key lands in: exact name, else the one equal ignoring ASCII case. */
function fieldFor(key: string, shape: GoShape): string | undefined {
  if (Object.hasOwn(shape, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(shape).find((f) => f.toLowerCase() === lower);
}

/**
 * Returns `value` with every object key renamed to the Go field it decodes into (recursively per
 * `shape`). Like encoding/json, a later key that lands in the same field overwrites an earlier one.
 */
export function foldGoKeys(value: unknown, shape: GoShape): unknown {
  if (Array.isArray(value)) return value.map((v) => foldGoKeys(v, shape));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = fieldFor(key, shape);
    if (field === undefined) {
      out[key] = v;
      continue;
    }
    const sub = shape[field];
    out[field] = sub ? foldGoKeys(v, sub) : v;
  }
  return out;
}

/** A release's `reference-values.json`: runtime handler (a map key, kept) → ReferenceValues. */
export function foldEmbeddedReferenceValues(parsed: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(parsed).map(([handler, rv]) => [handler, foldReferenceValues(rv)]),
  );
}

function zeroSnp(): Record<string, unknown> {
  // SNPReferenceValues of the line: strings "", SVN pointers nil, bools false, slices nil.
  // APEIP is left out: generate sets it from the release's ap-eip.hex (or leaves it absent).
  const zero: Record<string, unknown> = {
    Platform: '',
    ProductName: '',
    TrustedMeasurement: '',
    MinimumTCB: Object.fromEntries(fields.SNP_TCB_FIELDS.map((f) => [f, null])),
    GuestPolicy: Object.fromEntries(
      fields.SNP_GUEST_POLICY_FIELDS.map((f) => [f, f === 'ABIMinor' || f === 'ABIMajor' ? 0 : false]),
    ),
    PlatformInfo: Object.fromEntries(fields.SNP_PLATFORM_INFO_FIELDS.map((f) => [f, false])),
    MinimumMitigationVector: 0,
    AllowedChipIDs: null,
  };
  return zero;
}

const ZERO_TDX: Record<string, unknown> = {
  Platform: '',
  MinTCBEvaluationDataNumber: 0,
  MrTd: '',
  MrSeam: '',
  Rtmrs: ['', '', '', ''],
  Xfam: '',
  AllowedPIIDs: null,
  MemoryIntegrity: false,
  SMTDisabled: false,
  StaticPlatform: false,
};

function fill(zero: Record<string, unknown>, v: unknown): unknown {
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = { ...zero, ...v };
  for (const [k, z] of Object.entries(zero)) {
    if (!isPlainObject(z)) continue;
    // JSON null into a Go struct leaves it as it was: the zero struct.
    if (v[k] === null) out[k] = z;
    else if (isPlainObject(v[k])) out[k] = { ...z, ...v[k] };
  }
  return out;
}

/**
 * What the Go CLI writes for reference values it decoded: json.Decode into the structs leaves every
 * field the file does not name at its zero value, and json.MarshalIndent writes all of them. A release's
 * reference-values.json names only what the build computes (package.nix: guestPolicy with six fields,
 * platformInfo {SMTEnabled}, trustedMeasurement, productName; mrTd, rtmrs, xfam, memoryIntegrity).
 */
export function withGoZeroValues(rv: fields.ReferenceValues): fields.ReferenceValues {
  const out: fields.ReferenceValues = {};
  if (rv.snp) out.snp = rv.snp.map((s) => fill(zeroSnp(), s) as Record<string, unknown>);
  if (rv.tdx) out.tdx = rv.tdx.map((t) => fill(ZERO_TDX, t) as Record<string, unknown>);
  return out;
}
