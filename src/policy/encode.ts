// The two ways a policy reaches the Kata agent: the legacy policy annotation (tarfs era) and an
// initdata document (initdata era), each with the hash that attestation measures.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ContrastError } from '../internal/errors.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from './data.js';
import type { PolicyData } from './data.js';

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
    for (const [k, v] of Object.entries(old.data)) if (k !== 'policy.rego') extra[k] = v;
  }
  const toml = initdataToml(text, extra);
  return {
    annotationKey: INITDATA_ANNOTATION,
    annotationValue: gzipSync(Buffer.from(toml, 'utf8')).toString('base64'),
    hash: sha256Hex(toml),
    initdata: toml,
  };
}

export function initdataToml(policy: string, extra: Record<string, string> = {}): string {
  let out = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n';
  out += `"policy.rego" = ${tomlString(policy)}\n`;
  for (const k of Object.keys(extra).sort()) out += `${JSON.stringify(k)} = ${tomlString(extra[k]!)}\n`;
  return out;
}

/** A multi-line literal string when the text allows it (readable, byte-stable), else a basic string. */
function tomlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!s.includes("'''") && !/[\x00-\x08\x0b-\x1f\x7f]/.test(s) && !s.endsWith("'")) return `'''\n${s}'''`;
  return stringifyToml({ v: s }).replace(/^v = /, '').trimEnd();
}

export interface Initdata {
  version: string;
  algorithm: string;
  data: Record<string, string>;
}

export function decodeInitdata(annotation: string): Initdata {
  let toml: string;
  try {
    toml = gunzipSync(Buffer.from(annotation, 'base64')).toString('utf8');
  } catch (err) {
    throw new ContrastError(
      `existing ${INITDATA_ANNOTATION} annotation is not base64(gzip(TOML)): ${(err as Error).message}`,
    );
  }
  return parseInitdataToml(toml);
}

export function parseInitdataToml(toml: string): Initdata {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(toml) as Record<string, unknown>;
  } catch (err) {
    throw new ContrastError(`initdata is not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const data = doc['data'];
  const out: Record<string, string> = {};
  if (typeof data === 'object' && data !== null) {
    for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
  }
  return { version: String(doc['version'] ?? ''), algorithm: String(doc['algorithm'] ?? ''), data: out };
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}
