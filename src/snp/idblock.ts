// SNP ID block (96 bytes) and ID authentication structure (4096 bytes) as Contrast's 2026 CLI builds
// them (edgelesssys/contrast internal/idblock/idblock.go IDBlocksFromLaunchDigest in the version that
// takes the guest policy; its test internal/idblock/idblock_test.go at commit
// 150ff4058bc7db799ca944beb14d265d410bab09 pins VERSION 1, ID_KEY_ALGO 1, AUTH_KEY_ALGO 0, curve 2). Layouts: AMD SEV-SNP
// ABI spec 56860 rev 1.57, Table 75 (ID block) and Table 76 (ID authentication), signatures and keys
// per Chapter 10 (ECDSA P-384 with SHA-384, r/s/Qx/Qy little-endian in 72-byte fields).
//
// Contrast signs nothing: the ID block carries a fixed signature r = 2, s = 1 (any r that is the
// x-coordinate of a curve point works, any s), and the ID key is the public key *recovered* from that
// signature over the block (SEC 1 v2 §4.1.6). Of the two candidates Contrast takes the one that sorts
// first by (x, y). The firmware then checks a valid signature, and the verifier recomputes the same key.
import { createHash } from 'node:crypto';
import {
  N,
  P,
  bigIntToBytes,
  bytesToBigInt,
  curveRhs,
  isOnCurve,
  linearCombination,
  modInverse,
  mod,
  sqrtModP,
  type Point,
} from './p384.js';
import { LAUNCH_DIGEST_SIZE } from './measure.js';

export const ID_BLOCK_SIZE = 0x60;
export const ID_AUTH_SIZE = 0x1000;
const ECDSA_P384_SHA384 = 1;
const CURVE_P384 = 2;
const FIELD = 0x48; // r, s, Qx, Qy field width

/**
 * Guest policy field names as go-sev-guest's abi.SnpPolicy marshals them (the manifest's
 * `GuestPolicy`), with their bit in the 64-bit POLICY (abi/abi.go policy*Bit; ABI spec Table 9).
 * ABIMinor is bits 0-7, ABIMajor 8-15, bit 17 is reserved and always 1.
 */
export const GUEST_POLICY_BITS: ReadonlyArray<readonly [string, bigint]> = [
  ['SMT', 16n],
  ['MigrateMA', 18n],
  ['Debug', 19n],
  ['SingleSocket', 20n],
  ['CXLAllowed', 21n],
  ['MemAES256XTS', 22n],
  ['RAPLDis', 23n],
  ['CipherTextHidingDRAM', 24n],
  ['PageSwapDisable', 25n],
];
const RESERVED_ONE_BIT = 17n;

/** abi.SnpPolicyToBytes: the manifest's GuestPolicy object as the 64-bit POLICY value. */
export function guestPolicyBits(policy: Record<string, unknown>, where = 'GuestPolicy'): bigint {
  const byte = (name: string): bigint => {
    const v = policy[name] ?? 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
      throw new TypeError(`${where}.${name}: expected an integer 0-255, got ${JSON.stringify(v)}`);
    return BigInt(v);
  };
  let bits = byte('ABIMinor') | (byte('ABIMajor') << 8n) | (1n << RESERVED_ONE_BIT);
  for (const [name, bit] of GUEST_POLICY_BITS) {
    const v = policy[name] ?? false;
    if (typeof v !== 'boolean')
      throw new TypeError(`${where}.${name}: expected true or false, got ${JSON.stringify(v)}`);
    if (v) bits |= 1n << bit;
  }
  return bits;
}

/** ID block: LD ‖ FAMILY_ID ‖ IMAGE_ID ‖ VERSION u32 ‖ GUEST_SVN u32 ‖ POLICY u64 (little-endian). */
export function idBlockBytes(launchDigest: Uint8Array, policy: bigint): Buffer {
  if (launchDigest.length !== LAUNCH_DIGEST_SIZE)
    throw new RangeError(`launch digest must be ${LAUNCH_DIGEST_SIZE} bytes, got ${launchDigest.length}`);
  const b = Buffer.alloc(ID_BLOCK_SIZE);
  Buffer.from(launchDigest).copy(b, 0x00);
  b[0x30] = 0x01; // FAMILY_ID {0x1}: Contrast's fixed value, uninterpreted by the firmware
  b[0x40] = 0x02; // IMAGE_ID {0x2}
  b.writeUInt32LE(1, 0x50); // VERSION: 1 for this ABI
  b.writeUInt32LE(2, 0x54); // GUEST_SVN: 2, Contrast's (igvm-tooling's) default
  b.writeBigUInt64LE(policy, 0x58);
  return b;
}

/** Little-endian, zero-padded to the ABI's 72-byte field. */
function le72(v: bigint): Buffer {
  return Buffer.from(bigIntToBytes(v, FIELD)).reverse();
}

/** Public keys that verify signature (r, s) over hash value z, sorted by (x, y) (SEC 1 §4.1.6). */
export function recoverPublicKeys(r: bigint, s: bigint, z: bigint): Point[] {
  const rInv = modInverse(r, N);
  if (rInv === undefined) throw new Error('unable to compute modular inverse');
  const x = mod(r, P);
  const y = sqrtModP(curveRhs(x));
  if (y === undefined) throw new Error('no square root');
  const keys: Point[] = [];
  for (const ry of [y, mod(P - y)]) {
    const point = { x, y: ry };
    if (!isOnCurve(point)) continue;
    const u1 = mod(-mod(z * rInv, N), N);
    const u2 = mod(s * rInv, N);
    const q = linearCombination(u1, u2, point);
    if (q) keys.push(q);
  }
  return keys.sort((a, b) => (a.x === b.x ? (a.y < b.y ? -1 : a.y > b.y ? 1 : 0) : a.x < b.x ? -1 : 1));
}

export const FIXED_R = 2n;
export const FIXED_S = 1n;

export interface IdBlocks {
  idBlock: Buffer;
  idAuth: Buffer;
  /** The recovered ID key (also written into idAuth at 0x240). */
  idKey: Point;
}

/**
 * Results by launch digest and policy. The key recovery is two P-384 scalar multiplications in
 * BigInt (~15-40 ms each); `generate` needs the same few digests for every pod of the same vCPU
 * count, and a CPU profile of a warm `generate` of 30 workloads showed 42% of the run here.
 */
const memo = new Map<string, IdBlocks>();
/** How many ID keys were actually recovered (tests check the memo works). */
export const idKeyRecoveries = { count: 0 };

/** ID block and ID authentication for `launchDigest` and the 64-bit guest `policy`. */
export function idBlocksFromLaunchDigest(launchDigest: Uint8Array, policy: bigint): IdBlocks {
  const key = `${Buffer.from(launchDigest).toString('hex')}/${policy}`;
  let hit = memo.get(key);
  if (!hit) {
    hit = computeIdBlocks(launchDigest, policy);
    memo.set(key, hit);
  }
  // Copies: callers own what they get.
  return { idBlock: Buffer.from(hit.idBlock), idAuth: Buffer.from(hit.idAuth), idKey: { ...hit.idKey } };
}

function computeIdBlocks(launchDigest: Uint8Array, policy: bigint): IdBlocks {
  idKeyRecoveries.count++;
  const idBlock = idBlockBytes(launchDigest, policy);
  const z = bytesToBigInt(createHash('sha384').update(idBlock).digest());
  const [idKey] = recoverPublicKeys(FIXED_R, FIXED_S, z);
  if (!idKey) throw new Error('failed to recover public key');
  const auth = Buffer.alloc(ID_AUTH_SIZE);
  auth.writeUInt32LE(ECDSA_P384_SHA384, 0x00); // ID_KEY_ALGO
  auth.writeUInt32LE(0, 0x04); // AUTH_KEY_ALGO: no author key
  le72(FIXED_R).copy(auth, 0x40); // ID_BLOCK_SIG.r
  le72(FIXED_S).copy(auth, 0x40 + FIELD); // ID_BLOCK_SIG.s
  auth.writeUInt32LE(CURVE_P384, 0x240); // ID_KEY.curve
  le72(idKey.x).copy(auth, 0x244); // ID_KEY.qx
  le72(idKey.y).copy(auth, 0x244 + FIELD); // ID_KEY.qy
  // ID_KEY_SIG (0x680) and AUTHOR_KEY (0x880) stay zero: no author key.
  return { idBlock, idAuth: auth, idKey };
}
