// The two ways a policy reaches the Kata agent: the legacy policy annotation (tarfs era) and an
// initdata document (initdata era), each with the hash that attestation measures.
import type { PolicyData } from './data.js';
import {
  decodeInitdata,
  encodeInitdataValue,
  INITDATA_ANNOTATION,
  INITDATA_POLICY_KEY,
  initdataToml,
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

/**
 * Initdata TOML with the policy under `data."policy.rego"`. Other data keys of an existing initdata
 * annotation (e.g. Contrast's debug flag) are kept; `algorithm` stays sha256 because our hash is.
 */
export function encodeInitdata(text: string, existingAnnotation?: string): EncodedPolicy {
  const extra: Record<string, string> = {};
  if (existingAnnotation) {
    const old = decodeInitdata(existingAnnotation);
    for (const [k, v] of Object.entries(old.data)) if (k !== INITDATA_POLICY_KEY) extra[k] = v;
  }
  const toml = initdataToml(text, extra);
  return {
    annotationKey: INITDATA_ANNOTATION,
    annotationValue: encodeInitdataValue(toml),
    hash: sha256Hex(toml),
    initdata: toml,
  };
}
