// manifest.json: the document the Coordinator enforces. Field names, nesting, null-vs-empty and the
// byte format follow Contrast's Go types (encoding/json.MarshalIndent, 2 spaces, trailing newline),
// so a manifest we write can be `contrast set` by the Go CLI and one it wrote can be updated by us.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { parseSeedshareOwnerPubKey, parseWorkloadOwnerPubKey } from './keys.js';
import {
  orderReferenceValues,
  validateReferenceValues,
  type ReferenceValueLine,
  type ReferenceValues,
} from './referencevalues.js';
import { formatIssue, isHex, isPlainObject, issue, typeName, type ValidationIssue } from './validation.js';
import { readTextInput } from '../internal/files.js';
import { existsSync } from 'node:fs';
import { foldManifest } from './gojson.js';

export type Role = '' | 'coordinator';

export interface PolicyEntry {
  SANs: string[] | null;
  /** omitempty */
  WorkloadSecretID?: string;
  /** omitempty; `coordinator` or absent. */
  Role?: Role;
}

export interface Manifest {
  /** Hex digest of the policy (initdata TOML or legacy policy text) → entry. */
  Policies: Record<string, PolicyEntry> | null;
  ReferenceValues: ReferenceValues;
  /** 2025 line: hex sha256 of PKIX DER ECDSA public keys; null = the manifest can never be updated. */
  WorkloadOwnerKeyDigests: string[] | null;
  /** 2026 line (replaces the digests): hex PKIX DER ECDSA public keys; null = never updatable. */
  WorkloadOwnerPubKeys?: string[] | null;
  /** Hex PKCS#1 DER RSA public keys. */
  SeedshareOwnerPubKeys: string[] | null;
}

/** Top-level fields per release line (internal/manifest/manifest.go `Manifest`, declaration order). */
export function topLevelFields(line: ReferenceValueLine = '2025'): readonly string[] {
  return [
    'Policies',
    'ReferenceValues',
    line === '2026' ? 'WorkloadOwnerPubKeys' : 'WorkloadOwnerKeyDigests',
    'SeedshareOwnerPubKeys',
  ];
}
const TOP_LEVEL = topLevelFields('2025');

export function emptyManifest(referenceValues: ReferenceValues): Manifest {
  return {
    Policies: {},
    ReferenceValues: referenceValues,
    WorkloadOwnerKeyDigests: [],
    SeedshareOwnerPubKeys: [],
  };
}

/**
 * Serializes like Go's `json.MarshalIndent(m, "", "  ")` + "\n": struct fields in declaration order,
 * map keys sorted, nil slices as null, and `<`, `>`, `&`, U+2028, U+2029 escaped.
 */
export function serializeManifest(m: Manifest, line: ReferenceValueLine = '2025'): string {
  const policies: Record<string, unknown> | null = m.Policies === null ? null : {};
  if (m.Policies && policies) {
    for (const key of Object.keys(m.Policies).sort()) {
      const e = m.Policies[key]!;
      const entry: Record<string, unknown> = { SANs: e.SANs };
      if (e.WorkloadSecretID) entry['WorkloadSecretID'] = e.WorkloadSecretID;
      if (e.Role) entry['Role'] = e.Role;
      policies[key] = entry;
    }
  }
  const doc =
    line === '2026'
      ? {
          Policies: policies,
          ReferenceValues: orderReferenceValues(m.ReferenceValues, line),
          WorkloadOwnerPubKeys: m.WorkloadOwnerPubKeys ?? null,
          SeedshareOwnerPubKeys: m.SeedshareOwnerPubKeys,
        }
      : {
          Policies: policies,
          ReferenceValues: orderReferenceValues(m.ReferenceValues, line),
          WorkloadOwnerKeyDigests: m.WorkloadOwnerKeyDigests,
          SeedshareOwnerPubKeys: m.SeedshareOwnerPubKeys,
        };
  return (
    JSON.stringify(doc, null, 2)
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029') + '\n'
  );
}

export interface ManifestValidateOptions {
  /** Release line whose schema and Validate() rules apply; without one, the pre-release-selection rules. */
  line?: ReferenceValueLine;
}

/** Structural and semantic checks; every finding carries its JSON path. */
export function validateManifest(m: unknown, options: ManifestValidateOptions = {}): ValidationIssue[] {
  if (!isPlainObject(m)) return [issue('', `manifest must be a JSON object, got ${typeName(m)}`)];
  const out: ValidationIssue[] = [];
  const line = options.line;
  // With a release line, unknown top-level fields are ignored as Go's json.Unmarshal does (the caller
  // warns and drops them); without one they stay errors.
  if (!line) {
    for (const k of Object.keys(m)) {
      if (!(TOP_LEVEL as readonly string[]).includes(k))
        out.push(issue(k, `unknown field (expected ${TOP_LEVEL.join(', ')})`));
    }
  }
  const policies = m['Policies'];
  // PolicyEntry.Validate() findings (hash, role): Go's Validate() (both lines) drops them when the
  // Coordinator check below fails, so they are held apart from the shape findings.
  const entryIssues: ValidationIssue[] = [];
  if (policies !== null && policies !== undefined) {
    if (!isPlainObject(policies))
      out.push(issue('Policies', `expected an object, got ${typeName(policies)}`));
    else {
      for (const [hash, entry] of Object.entries(policies)) {
        const p = `Policies[${JSON.stringify(hash)}]`;
        if (!isHex(hash) || hash.length !== 64)
          entryIssues.push(issue(p, 'policy hash must be 64 hex characters (sha256)'));
        if (!isPlainObject(entry)) {
          out.push(issue(p, `expected an object, got ${typeName(entry)}`));
          continue;
        }
        // As at the top level: with a release line Go's json.Unmarshal drops them (parseManifest
        // reports them as ignored); without one they stay errors.
        if (!line) for (const k of unknownEntryFields(entry)) out.push(issue(`${p}.${k}`, 'unknown field'));
        const sans = entry['SANs'];
        if (
          sans !== null &&
          sans !== undefined &&
          !(Array.isArray(sans) && sans.every((s) => typeof s === 'string'))
        ) {
          out.push(issue(`${p}.SANs`, 'expected an array of strings'));
        }
        const id = entry['WorkloadSecretID'];
        if (id !== undefined && typeof id !== 'string')
          out.push(issue(`${p}.WorkloadSecretID`, 'expected a string'));
        const role = entry['Role'];
        // Both lines' Role.Validate() accept RoleNone and RoleCoordinator only; 2026 declares
        // RoleNodeInstaller ("contrast-node-installer") too, but does not accept it there.
        if (role !== undefined && role !== '' && role !== 'coordinator') {
          entryIssues.push(
            issue(`${p}.Role`, `unknown role ${JSON.stringify(role)} (expected "" or "coordinator")`),
          );
        }
      }
    }
  }
  // Both lines' Validate() count the Coordinator policies right after the entries and return that
  // error alone, before the reference values and keys are looked at: 2026 ErrMissingCoordinator (none),
  // 2025 CoordinatorCountError (not exactly one). test/manifest-validate.test.ts cites the sources.
  if (line && (policies === null || policies === undefined || isPlainObject(policies))) {
    const missing = coordinatorIssues({ Policies: (policies ?? null) as Manifest['Policies'] }, line);
    if (missing.length) return [...out, ...missing];
  }
  out.push(...entryIssues);
  out.push(
    ...validateReferenceValues(m['ReferenceValues'], 'ReferenceValues', line ? { line, goRules: true } : {}),
  );
  const problem = (what: string, parse: (hex: string) => unknown) => (k: unknown) => {
    try {
      if (typeof k !== 'string') throw new Error('expected a hex string');
      parse(k);
      return undefined;
    } catch (err) {
      return `invalid ${what}: ${errorMessage(err)}`;
    }
  };
  if (line === '2026')
    eachElement(
      m,
      'WorkloadOwnerPubKeys',
      problem('workload owner public key', parseWorkloadOwnerPubKey),
      out,
    );
  else
    eachElement(
      m,
      'WorkloadOwnerKeyDigests',
      (d) =>
        typeof d !== 'string' || !isHex(d) || d.length !== 64
          ? 'workload owner key digest must be 64 hex characters (sha256)'
          : undefined,
      out,
    );
  eachElement(
    m,
    'SeedshareOwnerPubKeys',
    problem('seed share owner public key', parseSeedshareOwnerPubKey),
    out,
  );
  return out;
}

const ENTRY_FIELDS: readonly string[] = ['SANs', 'WorkloadSecretID', 'Role'];

function unknownEntryFields(entry: Record<string, unknown>): string[] {
  return Object.keys(entry).filter((k) => !ENTRY_FIELDS.includes(k));
}

/** Issues for an optional array field of `m` (null or absent is fine) and each element `problem` finds. */
function eachElement(
  m: Record<string, unknown>,
  field: string,
  problem: (element: unknown) => string | undefined,
  out: ValidationIssue[],
): void {
  const value = m[field];
  if (value === null || value === undefined) return;
  if (!Array.isArray(value)) {
    out.push(issue(field, `expected an array, got ${typeName(value)}`));
    return;
  }
  value.forEach((element, i) => {
    const p = problem(element);
    if (p !== undefined) out.push(issue(`${field}[${i}]`, p));
  });
}

/**
 * Counts coordinator entries. 2025 line: exactly one (manifest.CoordinatorCountError); 2026 line: at
 * least one (ErrMissingCoordinator "expected at least 1 policy with role 'coordinator'").
 */
export function coordinatorIssues(
  m: Pick<Manifest, 'Policies'>,
  line: ReferenceValueLine = '2025',
): ValidationIssue[] {
  const n = Object.values(m.Policies ?? {}).filter(
    (e) => isPlainObject(e) && e.Role === 'coordinator',
  ).length;
  if (line === '2026')
    return n >= 1 ? [] : [issue('Policies', "expected at least 1 policy with role 'coordinator'")];
  if (n === 1) return [];
  return [issue('Policies', `expected exactly 1 policy with role 'coordinator', got ${n}`)];
}

/** Parses and validates an existing manifest; fatal findings throw, expected-missing ones are returned. */
export function parseManifest(
  text: string,
  path: string,
  options: ManifestValidateOptions = {},
): { manifest: Manifest; warnings: ValidationIssue[]; ignored: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ContrastError(`${path}: not valid JSON: ${errorMessage(err)}`, { code: 'BAD_MANIFEST' });
  }
  // What Go's json.Unmarshal reads: field names matched case-insensitively.
  raw = foldManifest(raw);
  const issues = validateManifest(raw, options);
  // Go's generate validates an existing manifest with Validate() and stops on any finding, expected
  // missing ones included ("validate existing manifest: …").
  const fatal = options.line ? issues : issues.filter((i) => !i.expectedMissing);
  if (fatal.length) {
    throw new ContrastError(
      `${path}: ${options.line ? 'validate existing manifest' : 'invalid manifest'}:\n  ${fatal.map(formatIssue).join('\n  ')}`,
      {
        code: 'BAD_MANIFEST',
        hint: 'fix the fields above, or move the file away to start from a new manifest',
      },
    );
  }
  const known = topLevelFields(options.line);
  const ignored = isPlainObject(raw) ? Object.keys(raw).filter((k) => !known.includes(k)) : [];
  const r = raw as Record<string, unknown>;
  if (isPlainObject(r['Policies']))
    for (const [hash, entry] of Object.entries(r['Policies']))
      if (isPlainObject(entry))
        for (const k of unknownEntryFields(entry)) {
          ignored.push(`Policies[${JSON.stringify(hash)}].${k}`);
          delete entry[k];
        }
  const manifest: Manifest = {
    Policies: (r['Policies'] as Manifest['Policies']) ?? null,
    ReferenceValues: (r['ReferenceValues'] as ReferenceValues) ?? {},
    WorkloadOwnerKeyDigests: (r['WorkloadOwnerKeyDigests'] as string[] | null | undefined) ?? null,
    SeedshareOwnerPubKeys: (r['SeedshareOwnerPubKeys'] as string[] | null | undefined) ?? null,
  };
  if (options.line === '2026') {
    manifest.WorkloadOwnerPubKeys = (r['WorkloadOwnerPubKeys'] as string[] | null | undefined) ?? null;
    manifest.WorkloadOwnerKeyDigests = null;
  }
  return { manifest, warnings: issues, ignored };
}

export async function readManifestFile(
  path: string,
  options: ManifestValidateOptions = {},
): Promise<{ manifest: Manifest; text: string; warnings: ValidationIssue[]; ignored: string[] } | undefined> {
  let text: string;
  try {
    if (!existsSync(path)) return undefined;
    // Strict UTF-8 (readTextInput): we rewrite this file, bad bytes would come back as U+FFFD.
    text = await readTextInput(path, 'manifest');
  } catch (err) {
    if (err instanceof ContrastError) throw err;
    throw new ContrastError(`reading manifest ${path}: ${errorMessage(err)}`, { code: 'BAD_MANIFEST' });
  }
  return { ...parseManifest(text, path, options), text };
}
