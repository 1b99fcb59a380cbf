// Owner keys. The workload owner (may update the manifest) is an ECDSA P-384 key, recorded as the hex
// sha256 of its PKIX DER public key; the seed-share owner (may recover the Coordinator) is an RSA-4096
// key, recorded as its hex PKCS#1 DER public key. Key files are the same PEM types Contrast writes
// (`EC PRIVATE KEY`, `RSA PRIVATE KEY`) so `contrast set`/`recover` of either implementation read them.
import {
  createHash,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ContrastError, errorMessage } from '../internal/errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export const WORKLOAD_OWNER_CURVE = 'P-384';
export const SEEDSHARE_OWNER_RSA_BITS = 4096;

/** A new workload owner private key, PEM `EC PRIVATE KEY` (SEC 1). */
export function newWorkloadOwnerKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: WORKLOAD_OWNER_CURVE });
  return privateKey.export({ format: 'pem', type: 'sec1' }).toString();
}

/** A new seed-share owner private key, PEM `RSA PRIVATE KEY` (PKCS#1). Async: RSA-4096 takes a while. */
export async function newSeedshareOwnerKey(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: SEEDSHARE_OWNER_RSA_BITS });
  return privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
}

function publicKeyOf(pem: string, what: string, source: string): KeyObject {
  if (!pem.includes('-----BEGIN '))
    throw new ContrastError(`${what} ${source}: no PEM block found`, { code: 'BAD_KEY' });
  try {
    // createPublicKey derives the public half from a private key PEM as well.
    return createPublicKey(pem);
  } catch (err) {
    throw new ContrastError(`${what} ${source}: ${errorMessage(err)}`, { code: 'BAD_KEY' });
  }
}

/** Hex sha256 of the PKIX DER public key, from a PEM private or public ECDSA key. */
export function workloadOwnerKeyDigest(pem: string, source = ''): string {
  const key = publicKeyOf(pem, 'workload owner key', source);
  if (key.asymmetricKeyType !== 'ec') {
    throw new ContrastError(
      `workload owner key ${source}: expected an ECDSA key, got ${key.asymmetricKeyType ?? 'unknown'}`,
      { code: 'BAD_KEY' },
    );
  }
  return createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/**
 * Hex PKIX DER public key, from a PEM private or public ECDSA key: what the 2026 manifest records in
 * `WorkloadOwnerPubKeys` (internal/manifest/manifest.go: "ECDSA public keys in PKIX DER format, hex-encoded").
 */
export function workloadOwnerPubKeyHex(pem: string, source = ''): string {
  workloadOwnerKeyDigest(pem, source); // same checks: PEM, ECDSA
  return publicKeyOf(pem, 'workload owner key', source)
    .export({ format: 'der', type: 'spki' })
    .toString('hex');
}

/** Parses a manifest's hex PKIX ECDSA public key (Go ParseWorkloadOwnerPublicKey); throws when it is not one. */
export function parseWorkloadOwnerPubKey(hex: string): KeyObject {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new Error('not hex');
  const key = createPublicKey({ key: Buffer.from(hex, 'hex'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec') throw new Error('not an ECDSA key');
  return key;
}

/** Hex PKCS#1 DER public key, from a PEM private or public RSA key. */
export function seedshareOwnerPubKeyHex(pem: string, source = ''): string {
  const key = publicKeyOf(pem, 'seed share owner key', source);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ContrastError(
      `seed share owner key ${source}: expected an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`,
      { code: 'BAD_KEY' },
    );
  }
  return key.export({ format: 'der', type: 'pkcs1' }).toString('hex');
}

/** Parses a manifest's hex PKCS#1 public key; throws when it is not one. */
export function parseSeedshareOwnerPubKey(hex: string): KeyObject {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new Error('not hex');
  const key = createPublicKey({ key: Buffer.from(hex, 'hex'), format: 'der', type: 'pkcs1' });
  if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
  return key;
}

/** Adds values without duplicates and sorts, as Contrast does for both key lists. */
export function addSorted(list: readonly string[] | null, values: readonly string[]): string[] {
  return [...new Set([...(list ?? []), ...values])].sort();
}
