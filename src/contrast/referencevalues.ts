// Reference values: the workload-independent measurements and TCB minimums the Coordinator accepts.
// They belong to one Contrast release (launch digests, handler hashes) and to the hardware owner
// (TCB versions, MrSeam); we ship none of them. A new manifest starts with placeholders that name
// every field, fixed fields (guest policy, Xfam) already set and the unknowable ones left empty, which
// validation reports as "expected missing" until the user fills them in or imports a release's
// `reference-values.json` with `--reference-values-file`.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { parseRuntimeClass, type PlatformInfo } from './platforms.js';
import { hexProblem, isHex, isPlainObject, issue, typeName, type ValidationIssue } from './validation.js';
import { readTextInput } from '../internal/files.js';
import { foldEmbeddedReferenceValues, foldReferenceValues, withGoZeroValues } from './gojson.js';
import {
  SNP_GUEST_POLICY_FIELDS,
  SNP_TCB_FIELDS,
  TDX_FIELDS,
  snpFields,
  SNP_PLATFORM_INFO_FIELDS,
  type ReferenceValueLine,
  type ReferenceValues,
} from './reference-fields.js';

export * from './reference-fields.js';

/** SNP launch digest size (abi.MeasurementSize). */
const SNP_MEASUREMENT_BYTES = 48;
const SNP_CHIP_ID_BYTES = 64;
const TDX_MEASUREMENT_BYTES = 48;
/** XFAM Contrast's embedded TDX values carry. */
export const DEFAULT_TDX_XFAM = 'e702060000000000';

/** Placeholder sets for a new manifest on `platform`: one per SNP product, or one TDX set. */
export function placeholderReferenceValues(platform: PlatformInfo): ReferenceValues {
  if (platform.referenceValues === 'snp') {
    return {
      snp: ['Milan', 'Genoa'].map((product) => ({
        Platform: platform.name,
        ProductName: product,
        TrustedMeasurement: '',
        MinimumTCB: { BootloaderVersion: null, TEEVersion: null, SNPVersion: null, MicrocodeVersion: null },
        GuestPolicy: {
          ABIMinor: platform.historical ? 31 : 0,
          ABIMajor: 0,
          SMT: true,
          MigrateMA: false,
          Debug: false,
          SingleSocket: false,
          CXLAllowed: false,
          MemAES256XTS: false,
          RAPLDis: false,
          CipherTextHidingDRAM: false,
          PageSwapDisable: false,
        },
        PlatformInfo: Object.fromEntries(SNP_PLATFORM_INFO_FIELDS.map((f) => [f, false])),
        MinimumMitigationVector: 0,
        AllowedChipIDs: null,
      })),
    };
  }
  return {
    tdx: [
      {
        Platform: platform.name,
        MinTCBEvaluationDataNumber: 0,
        MrTd: '',
        MrSeam: '',
        Rtmrs: ['', '', '', ''],
        Xfam: DEFAULT_TDX_XFAM,
        AllowedPIIDs: null,
        MemoryIntegrity: false,
        SMTDisabled: false,
        StaticPlatform: false,
      },
    ],
  };
}

export function mergeReferenceValues(parts: ReferenceValues[]): ReferenceValues {
  const out: ReferenceValues = {};
  for (const p of parts) {
    if (p.snp?.length) out.snp = [...(out.snp ?? []), ...p.snp];
    if (p.tdx?.length) out.tdx = [...(out.tdx ?? []), ...p.tdx];
  }
  return out;
}

function isSvn(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
}

function isUint(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function unknownFields(
  obj: Record<string, unknown>,
  known: readonly string[],
  path: string,
  out: ValidationIssue[],
): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) out.push(issue(`${path}.${k}`, 'unknown field'));
  }
}

function boolFields(
  obj: Record<string, unknown>,
  fields: readonly string[],
  path: string,
  out: ValidationIssue[],
): void {
  for (const f of fields) {
    const v = obj[f];
    if (v !== undefined && typeof v !== 'boolean')
      out.push(issue(`${path}.${f}`, `expected true or false, got ${typeName(v)}`));
  }
}

export interface ValidateOptions {
  strict?: boolean;
  line?: ReferenceValueLine;
  /**
   * Go's Validate(): an empty TrustedMeasurement, MrTd or RTMR is an error like any malformed hex
   * (only MinimumTCB and MrSeam are ExpectedMissingReferenceValueError). Off only for the
   * placeholders of a manifest generated without a release.
   */
  goRules?: boolean;
}

/**
 * The launch measurement (SNP TrustedMeasurement, TDX MrTd): `bytes` of hex. Empty is our placeholder
 * (the launch digest comes with a release), "expected missing" unless Go's rules apply; anything else
 * malformed is fatal.
 */
function measurementIssue(
  v: Record<string, unknown>,
  field: string,
  bytes: number,
  path: string,
  options: ValidateOptions,
  out: ValidationIssue[],
): void {
  const value = v[field];
  const problem = hexProblem(value, bytes);
  if (problem)
    out.push(
      issue(
        `${path}.${field}`,
        problem,
        !options.goRules && (value === '' || value === undefined || value === null),
      ),
    );
}

export function validateSnp(v: unknown, path: string, options: ValidateOptions = {}): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  if (!isPlainObject(v)) return [issue(path, `expected an object, got ${typeName(v)}`)];
  if (options.strict) unknownFields(v, snpFields(options.line), path, out);
  if (v['Platform'] !== undefined && typeof v['Platform'] !== 'string')
    out.push(issue(`${path}.Platform`, 'expected a string'));

  const tcb = v['MinimumTCB'];
  if (tcb === undefined || tcb === null) {
    for (const f of SNP_TCB_FIELDS) out.push(issue(`${path}.MinimumTCB.${f}`, 'field cannot be empty', true));
  } else if (!isPlainObject(tcb)) {
    out.push(issue(`${path}.MinimumTCB`, `expected an object, got ${typeName(tcb)}`));
  } else {
    if (options.strict) unknownFields(tcb, SNP_TCB_FIELDS, `${path}.MinimumTCB`, out);
    for (const f of SNP_TCB_FIELDS) {
      const x = tcb[f];
      if (x === undefined || x === null)
        out.push(issue(`${path}.MinimumTCB.${f}`, 'field cannot be empty', true));
      else if (!isSvn(x))
        out.push(issue(`${path}.MinimumTCB.${f}`, `value out of range for uint8: ${JSON.stringify(x)}`));
    }
  }

  const product = v['ProductName'];
  if (product !== 'Milan' && product !== 'Genoa') {
    out.push(issue(`${path}.ProductName`, `unknown product name: ${String(product ?? '')}`));
  }

  measurementIssue(v, 'TrustedMeasurement', SNP_MEASUREMENT_BYTES, path, options, out);
  const apeip = v['APEIP'];
  if (apeip !== undefined && apeip !== '' && apeip !== null) {
    // SNPValidatorOptions.APEIP: "when set (4 bytes)"; only the 2026 line has the field.
    if (options.line !== '2026')
      out.push(issue(`${path}.APEIP`, 'unknown field (APEIP exists from the 2026 release line on)'));
    else {
      const p = hexProblem(apeip, 4);
      if (p) out.push(issue(`${path}.APEIP`, p));
    }
  }

  const gp = v['GuestPolicy'];
  if (!isPlainObject(gp)) {
    out.push(issue(`${path}.GuestPolicy`, `expected an object, got ${typeName(gp)}`));
  } else {
    if (options.strict) unknownFields(gp, SNP_GUEST_POLICY_FIELDS, `${path}.GuestPolicy`, out);
    const notPermitted = 'modifying this field is not permitted';
    const gpPath = `${path}.GuestPolicy`;
    if ((gp['ABIMajor'] ?? 0) !== 0) out.push(issue(`${gpPath}.ABIMajor`, notPermitted));
    const minor = gp['ABIMinor'] ?? 0;
    if (minor !== 0 && minor !== 31) out.push(issue(`${gpPath}.ABIMinor`, notPermitted));
    if (gp['SMT'] !== true) out.push(issue(`${gpPath}.SMT`, notPermitted));
    // Every other flag but PageSwapDisable must stay off.
    const checked = new Set(['ABIMajor', 'ABIMinor', 'SMT', 'PageSwapDisable']);
    for (const f of SNP_GUEST_POLICY_FIELDS.filter((name) => !checked.has(name))) {
      if ((gp[f] ?? false) !== false) out.push(issue(`${gpPath}.${f}`, notPermitted));
    }
    boolFields(gp, ['PageSwapDisable'], gpPath, out);
  }

  const pi = v['PlatformInfo'];
  if (pi !== undefined && pi !== null) {
    if (!isPlainObject(pi))
      out.push(issue(`${path}.PlatformInfo`, `expected an object, got ${typeName(pi)}`));
    else {
      const fields = SNP_PLATFORM_INFO_FIELDS;
      if (options.strict) unknownFields(pi, fields, `${path}.PlatformInfo`, out);
      boolFields(pi, fields, `${path}.PlatformInfo`, out);
    }
  }
  if (v['MinimumMitigationVector'] !== undefined && !isUint(v['MinimumMitigationVector']))
    out.push(issue(`${path}.MinimumMitigationVector`, 'expected a non-negative integer'));
  const chips = v['AllowedChipIDs'];
  if (chips !== undefined && chips !== null) {
    if (!Array.isArray(chips))
      out.push(issue(`${path}.AllowedChipIDs`, `expected an array, got ${typeName(chips)}`));
    else
      chips.forEach((c, i) => {
        const p = hexProblem(c, SNP_CHIP_ID_BYTES);
        if (p) out.push(issue(`${path}.AllowedChipIDs[${i}]`, p));
      });
  }
  return out;
}

export function validateTdx(v: unknown, path: string, options: ValidateOptions = {}): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  if (!isPlainObject(v)) return [issue(path, `expected an object, got ${typeName(v)}`)];
  if (options.strict) unknownFields(v, TDX_FIELDS, path, out);
  if (v['Platform'] !== undefined && typeof v['Platform'] !== 'string')
    out.push(issue(`${path}.Platform`, 'expected a string'));
  const tcbEval = v['MinTCBEvaluationDataNumber'];
  if (tcbEval !== undefined && !(typeof tcbEval === 'number' && Number.isInteger(tcbEval))) {
    out.push(issue(`${path}.MinTCBEvaluationDataNumber`, 'expected an integer'));
  }
  measurementIssue(v, 'MrTd', TDX_MEASUREMENT_BYTES, path, options, out);
  // MrSeam identifies the TDX module the host runs: only its owner knows it (always "expected missing").
  const mrSeamProblem = hexProblem(v['MrSeam'], TDX_MEASUREMENT_BYTES);
  if (mrSeamProblem) out.push(issue(`${path}.MrSeam`, mrSeamProblem, true));
  const xfamProblem = hexProblem(v['Xfam'], 8);
  if (xfamProblem) out.push(issue(`${path}.Xfam`, xfamProblem));
  const rtmrs = v['Rtmrs'];
  if (!Array.isArray(rtmrs) || rtmrs.length !== 4) {
    out.push(issue(`${path}.Rtmrs`, 'expected an array of 4 hex strings'));
  } else {
    rtmrs.forEach((r, i) => {
      const p = hexProblem(r, TDX_MEASUREMENT_BYTES);
      // Go names them RTMR[1]..RTMR[4] (TDXReferenceValues.Validate: fmt.Sprintf("RTMR[%d]", i+1)).
      if (p)
        out.push(
          options.goRules
            ? issue(`${path}.RTMR[${i + 1}]`, p)
            : issue(`${path}.Rtmrs[${i}]`, p, r === '' || r === null),
        );
    });
  }
  const piids = v['AllowedPIIDs'];
  if (piids !== undefined && piids !== null) {
    if (!Array.isArray(piids))
      out.push(issue(`${path}.AllowedPIIDs`, `expected an array, got ${typeName(piids)}`));
    else
      piids.forEach((p, i) => {
        if (typeof p !== 'string' || !isHex(p) || p === '')
          out.push(issue(`${path}.AllowedPIIDs[${i}]`, 'expected a hex string'));
      });
  }
  boolFields(v, ['MemoryIntegrity', 'SMTDisabled', 'StaticPlatform'], path, out);
  return out;
}

export function validateReferenceValues(
  rv: unknown,
  path = 'ReferenceValues',
  options: ValidateOptions = {},
): ValidationIssue[] {
  if (!isPlainObject(rv)) return [issue(path, `expected an object, got ${typeName(rv)}`)];
  const out: ValidationIssue[] = [];
  for (const k of Object.keys(rv)) {
    if (k !== 'snp' && k !== 'tdx') out.push(issue(`${path}.${k}`, 'unknown field (expected snp or tdx)'));
  }
  let count = 0;
  for (const [kind, validate] of [
    ['snp', validateSnp],
    ['tdx', validateTdx],
  ] as const) {
    const list = rv[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      out.push(issue(`${path}.${kind}`, `expected an array, got ${typeName(list)}`));
      continue;
    }
    count += list.length;
    list.forEach((entry, i) => out.push(...validate(entry, `${path}.${kind}[${i}]`, options)));
  }
  if (count === 0)
    out.push(issue(path, 'reference values in manifest cannot be empty. Is the chosen platform supported?'));
  return out;
}

function ordered(
  obj: Record<string, unknown>,
  order: readonly string[],
  nested: Record<string, readonly string[]> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = [...order.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !order.includes(k))];
  for (const k of keys) {
    const v = obj[k];
    const sub = nested[k];
    out[k] = sub && isPlainObject(v) ? ordered(v, sub) : v;
  }
  return out;
}

/** Reference values with Contrast's field order (unknown fields kept, after the known ones). */
export function orderReferenceValues(
  rv: ReferenceValues,
  line: ReferenceValueLine = '2025',
): ReferenceValues {
  const out: ReferenceValues = {};
  if (rv.snp?.length) {
    out.snp = rv.snp.map((s) =>
      ordered(s, snpFields(line), {
        MinimumTCB: SNP_TCB_FIELDS,
        GuestPolicy: SNP_GUEST_POLICY_FIELDS,
        PlatformInfo: SNP_PLATFORM_INFO_FIELDS,
      }),
    );
  }
  if (rv.tdx?.length) out.tdx = rv.tdx.map((t) => ordered(t, TDX_FIELDS));
  return out;
}

export interface ImportedReferenceValues {
  /** Reference values per platform name. */
  byPlatform: Map<string, ReferenceValues>;
  /** Runtime handler per platform name, when the file is a release's handler → values map. */
  handlers: Map<string, string>;
  /** Plain `{snp, tdx}` file: applies to every platform of the matching TEE. */
  generic?: ReferenceValues;
  /** The release line whose schema the file follows. */
  line: ReferenceValueLine;
}

/**
 * Reads `--reference-values-file`: either a Contrast release's `reference-values.json` (runtime handler →
 * `{snp, tdx}`) or a single `{snp, tdx}` object. Unknown fields are rejected like upstream does for its
 * embedded file, so a typo cannot silently drop a measurement.
 */
export async function importReferenceValues(
  path: string,
  line?: ReferenceValueLine,
): Promise<ImportedReferenceValues> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readTextInput(path, 'reference values file'));
  } catch (err) {
    if (err instanceof ContrastError) throw err;
    throw new ContrastError(`--reference-values-file ${path}: ${errorMessage(err)}`, {
      code: 'BAD_REFERENCE_VALUES',
    });
  }
  if (!isPlainObject(parsed))
    throw new ContrastError(`--reference-values-file ${path}: expected a JSON object`, {
      code: 'BAD_REFERENCE_VALUES',
    });
  const fail = (issues: ValidationIssue[]): void => {
    const fatal = issues.filter((i) => !i.expectedMissing);
    if (fatal.length) {
      throw new ContrastError(
        `--reference-values-file ${path}:\n  ${fatal.map((i) => `${i.path}: ${i.message}`).join('\n  ')}`,
        {
          code: 'BAD_REFERENCE_VALUES',
        },
      );
    }
  };
  // Go's decoder matches field names case-insensitively; a release's file has camelCase keys.
  const asGeneric = foldReferenceValues(parsed) as Record<string, unknown>;
  const keys = Object.keys(asGeneric);
  const isGeneric = keys.length > 0 && keys.every((k) => k === 'snp' || k === 'tdx');
  const folded = isGeneric ? asGeneric : foldEmbeddedReferenceValues(parsed);
  // Without a known line, APEIP (only the 2026 line's SNPReferenceValues has it) tells it apart.
  const effective: ReferenceValueLine = line ?? (/"APEIP"/.test(JSON.stringify(folded)) ? '2026' : '2025');
  const result: ImportedReferenceValues = { byPlatform: new Map(), handlers: new Map(), line: effective };
  if (isGeneric) {
    fail(validateReferenceValues(folded, 'ReferenceValues', { strict: true, line: effective }));
    result.generic = withGoZeroValues(folded as ReferenceValues);
    return result;
  }
  for (const [handler, values] of Object.entries(folded)) {
    let platformName: string;
    try {
      const rc = parseRuntimeClass(handler);
      if (!rc) throw new ContrastError(`"${handler}" is not a contrast-cc-<platform>-<hash> runtime handler`);
      platformName = rc.platform.name;
    } catch (err) {
      throw new ContrastError(`--reference-values-file ${path}: ${errorMessage(err)}`, {
        code: 'BAD_REFERENCE_VALUES',
      });
    }
    fail(validateReferenceValues(values, handler, { strict: true, line: effective }));
    result.byPlatform.set(
      platformName,
      mergeReferenceValues([
        result.byPlatform.get(platformName) ?? {},
        withGoZeroValues(values as ReferenceValues),
      ]),
    );
    result.handlers.set(platformName, handler);
  }
  return result;
}

/** The imported values for `platform`, or undefined when the file has none for it. */
export function importedFor(
  imported: ImportedReferenceValues,
  platform: PlatformInfo,
): ReferenceValues | undefined {
  const specific = imported.byPlatform.get(platform.name);
  if (specific) return specific;
  const g = imported.generic;
  if (!g) return undefined;
  const list = platform.referenceValues === 'snp' ? g.snp : g.tdx;
  if (!list?.length) return undefined;
  // A generic file may hold several platforms' sets: prefer those naming this platform.
  const mine = list.filter(
    (s) =>
      typeof s['Platform'] !== 'string' ||
      s['Platform'] === '' ||
      String(s['Platform']).toLowerCase() === platform.name.toLowerCase(),
  );
  const chosen = mine.length ? mine : list;
  return platform.referenceValues === 'snp' ? { snp: chosen } : { tdx: chosen };
}
