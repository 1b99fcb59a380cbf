// What the manifest records per workload: the digest the TEE measures. For initdata (guest pull) it is
// the digest of the decompressed TOML document (SNP HOST_DATA / TDX MRCONFIGID); for the legacy
// annotation (host pull) the sha256 of the policy text. Also adds `contrast.insecure-debug` to the
// initdata for --insecure-enable-debug-shell-access, which changes that digest.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from './platforms.js';

export const INSECURE_DEBUG_KEY = 'contrast.insecure-debug';

function decodeInitdata(value: string): string {
  try {
    return gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
  } catch (err) {
    throw new ContrastError(`initdata annotation is not base64(gzip(TOML)): ${errorMessage(err)}`, {
      code: 'BAD_INITDATA',
    });
  }
}

function normalizeAlgorithm(a: unknown): string {
  const s = String(a ?? 'sha256')
    .toLowerCase()
    .replace('-', '');
  if (!['sha256', 'sha384', 'sha512'].includes(s))
    throw new ContrastError(`initdata algorithm "${String(a)}" is not supported`, { code: 'BAD_INITDATA' });
  return s;
}

/** Hex digest recorded in manifest.json `Policies` for a policy annotation. */
export function policyHash(annotationKey: string, annotationValue: string): string {
  if (annotationKey === POLICY_ANNOTATION) {
    return createHash('sha256').update(Buffer.from(annotationValue.trim(), 'base64')).digest('hex');
  }
  if (annotationKey === INITDATA_ANNOTATION) {
    const toml = decodeInitdata(annotationValue);
    let alg: string;
    try {
      alg = normalizeAlgorithm(parseToml(toml)['algorithm']);
    } catch (err) {
      if (err instanceof ContrastError) throw err;
      throw new ContrastError(`initdata is not valid TOML: ${errorMessage(err)}`, { code: 'BAD_INITDATA' });
    }
    return createHash(alg).update(toml, 'utf8').digest('hex');
  }
  throw new ContrastError(`unknown policy annotation ${annotationKey}`);
}

/** Returns the initdata annotation value with `data[key] = value` set. */
export function setInitdataEntry(annotationValue: string, key: string, value: string): string {
  const doc = parseToml(decodeInitdata(annotationValue)) as Record<string, unknown>;
  const data = (doc['data'] ?? {}) as Record<string, unknown>;
  if (data[key] === value) return annotationValue;
  data[key] = value;
  doc['data'] = data;
  return gzipSync(Buffer.from(stringifyToml(doc), 'utf8')).toString('base64');
}

export function initdataEntries(annotationValue: string): Record<string, string> {
  const doc = parseToml(decodeInitdata(annotationValue)) as Record<string, unknown>;
  return { ...((doc['data'] ?? {}) as Record<string, string>) };
}
