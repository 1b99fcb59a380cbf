// What the manifest records per workload: the digest the TEE measures. For initdata (guest pull) it is
// the digest of the decompressed TOML document (SNP HOST_DATA / TDX MRCONFIGID); for the legacy
// annotation (host pull) the sha256 of the policy text. Also sets `contrast.insecure-debug` in the
// initdata for --insecure-enable-debug-shell-access, which changes that digest. The codec itself is
// src/policy/initdata.ts.
import { createHash } from 'node:crypto';
import { ContrastError } from '../internal/errors.js';
import {
  decodeInitdataValue,
  INITDATA_ANNOTATION,
  initdataDigest,
  parseInitdataDocument,
  POLICY_ANNOTATION,
  withInitdataEntries,
} from '../policy/initdata.js';

export const INSECURE_DEBUG_KEY = 'contrast.insecure-debug';

/** Hex digest recorded in manifest.json `Policies` for a policy annotation. */
export function policyHash(annotationKey: string, annotationValue: string): string {
  if (annotationKey === POLICY_ANNOTATION) {
    return createHash('sha256').update(Buffer.from(annotationValue.trim(), 'base64')).digest('hex');
  }
  if (annotationKey === INITDATA_ANNOTATION) {
    const toml = decodeInitdataValue(annotationValue);
    return initdataDigest(toml, parseInitdataDocument(toml)['algorithm']);
  }
  throw new ContrastError(`unknown policy annotation ${annotationKey}`);
}

/**
 * The initdata annotation value with the debug entry following this run's flag: `"true"` with
 * --insecure-enable-debug-shell-access, absent without it (an entry from an earlier run is removed).
 * Unchanged when it already matches, so re-runs give the same digest.
 */
export function withDebugEntry(annotationValue: string, enabled: boolean): string {
  return withInitdataEntries(annotationValue, { [INSECURE_DEBUG_KEY]: enabled ? 'true' : undefined });
}
