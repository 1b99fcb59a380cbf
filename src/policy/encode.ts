// The two ways a policy reaches the Kata agent: the legacy policy annotation (tarfs era) and an
// initdata document (initdata era), each with the hash that attestation measures.
import type { PolicyData } from './data.js';
import {
  decodeInitdataValue,
  encodeInitdataValue,
  encodeInitdataValueAsync,
  INITDATA_ANNOTATION,
  INITDATA_POLICY_KEY,
  initdataToml,
  parseInitdataToml,
  POLICY_ANNOTATION,
  sha256Hex,
} from './initdata.js';

export type PolicyEncoding = 'legacy' | 'initdata';

/** `<rules>` + `\npolicy_data := ` + pretty JSON, no trailing newline (genpolicy's layout). */
export function policyText(rules: string, data: PolicyData): string {
  return `${rules}\npolicy_data := ${JSON.stringify(data, null, 2)}`;
}

export interface EncodedPolicy {
  annotationKey: string;
  annotationValue: string;
  /** Hex sha256: of the policy text (legacy) or of the uncompressed initdata TOML. */
  hash: string;
  /** The initdata TOML (initdata only). */
  initdata?: string;
}

export function encodeLegacy(text: string): EncodedPolicy {
  return {
    annotationKey: POLICY_ANNOTATION,
    annotationValue: Buffer.from(text, 'utf8').toString('base64'),
    hash: sha256Hex(text),
  };
}

/** `[data]` entries to set (a string) or remove (undefined) besides the policy. */
export type InitdataEntries = Readonly<Record<string, string | undefined>>;

/**
 * Initdata TOML with the policy under `data."policy.rego"`. Other data keys of an existing initdata
 * annotation are kept, then `entries` applied (e.g. Contrast's debug flag); `algorithm` stays sha256
 * because our hash is. When the existing annotation already holds exactly the TOML we would write, it
 * is returned as it is: same TOML, same measured digest, and no TOML parse and no gzip on a re-run.
 */
export function encodeInitdata(
  text: string,
  existingAnnotation?: string,
  entries: InitdataEntries = {},
): EncodedPolicy {
  const plan = planInitdata(text, existingAnnotation, entries);
  return plan.annotationValue !== undefined
    ? initdataResult(plan.toml, plan.annotationValue)
    : initdataResult(plan.toml, encodeInitdataValue(plan.toml));
}

/**
 * encodeInitdata in two steps: planInitdata does the checks (and throws) synchronously, finishInitdata
 * runs the gzip, when one is needed, in zlib's thread pool, so the gzips of many workloads overlap.
 */
export async function finishInitdata(plan: InitdataPlan): Promise<EncodedPolicy> {
  return initdataResult(plan.toml, plan.annotationValue ?? (await encodeInitdataValueAsync(plan.toml)));
}

function initdataResult(toml: string, annotationValue: string): EncodedPolicy {
  return { annotationKey: INITDATA_ANNOTATION, annotationValue, hash: sha256Hex(toml), initdata: toml };
}

/** The TOML to write, and the existing annotation value when it already holds exactly that TOML. */
export interface InitdataPlan {
  toml: string;
  annotationValue?: string;
}

export function planInitdata(
  text: string,
  existingAnnotation: string | undefined,
  entries: InitdataEntries = {},
  /** The TOML of existingAnnotation when the caller decoded it already (decodeInitdataValueAsync). */
  existingToml?: string,
): InitdataPlan {
  const wanted = withEntries({}, entries);
  if (!existingAnnotation) return { toml: initdataToml(text, wanted) };
  const existing = existingToml ?? decodeInitdataValue(existingAnnotation);
  // The usual re-run: the annotation is what we wrote last time. initdataToml is deterministic, so
  // equal text means its entries are exactly `wanted` (parsing it would give nothing else).
  const guess = initdataToml(text, wanted);
  if (existing === guess) return { toml: guess, annotationValue: existingAnnotation };
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseInitdataToml(existing).data))
    if (k !== INITDATA_POLICY_KEY) extra[k] = v;
  return { toml: initdataToml(text, withEntries(extra, entries)) };
}

function withEntries(base: Record<string, string>, entries: InitdataEntries): Record<string, string> {
  const out = { ...base };
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
