// Just enough NIST P-384 arithmetic to recover an ECDSA public key from a signature (SEC 1 v2 §4.1.6),
// which Node's crypto does not offer: the scalar multiplications run in Node's native P-384 (ECDH),
// the rest (square roots, one affine addition) in BigInt. The generator comes from Node's own curve
// (ECDH with private key 1), and b is derived from it, so the only constants written here are the
// field prime and the group order; the tests check both against Node, and the multiplications against
// a plain BigInt implementation (test/helpers/p384-reference.ts).
import { createECDH } from 'node:crypto';

export const P = (1n << 384n) - (1n << 128n) - (1n << 96n) + (1n << 32n) - 1n;
export const N =
  0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

export interface Point {
  x: bigint;
  y: bigint;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length ? BigInt('0x' + Buffer.from(b).toString('hex')) : 0n;
}

export function bigIntToBytes(v: bigint, length: number): Buffer {
  return Buffer.from(v.toString(16).padStart(length * 2, '0'), 'hex');
}

export function mod(a: bigint, m: bigint = P): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

export function modPow(base: bigint, exp: bigint, m: bigint = P): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/** Inverse modulo a prime via the extended Euclidean algorithm; undefined when none exists. */
export function modInverse(a: bigint, m: bigint): bigint | undefined {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return oldR === 1n ? mod(oldS, m) : undefined;
}

const one = createECDH('secp384r1');
one.setPrivateKey(bigIntToBytes(1n, 48));
const uncompressedG = one.getPublicKey();
export const G: Point = {
  x: bytesToBigInt(uncompressedG.subarray(1, 49)),
  y: bytesToBigInt(uncompressedG.subarray(49, 97)),
};
// y² = x³ − 3x + b holds for G, which fixes b.
export const B = mod(G.y * G.y - G.x * G.x * G.x + 3n * G.x);

/** x³ − 3x + b: the right-hand side of the curve equation. */
export function curveRhs(x: bigint): bigint {
  return mod(x * x * x - 3n * x + B);
}

export function isOnCurve(p: Point): boolean {
  return p.x >= 0n && p.x < P && p.y >= 0n && p.y < P && mod(p.y * p.y) === curveRhs(p.x);
}

/** A square root modulo P (P ≡ 3 mod 4), or undefined when `a` is no square. */
export function sqrtModP(a: bigint): bigint | undefined {
  const root = modPow(a, (P + 1n) / 4n);
  return mod(root * root) === mod(a) ? root : undefined;
}

/**
 * a·G + b·q (undefined = the point at infinity) with Node's native P-384 (OpenSSL) for the two
 * scalar multiplications: ECDH with private key k gives k·G, and k·q's x (the shared secret). In BigInt
 * they cost 15–40 ms each, a visible part of every `generate` with SNP ID blocks (issue 15).
 */
export function linearCombination(a: bigint, b: bigint, q: Point): Point | undefined {
  // k·(−q) = −(k·q): the two candidate points of a recovery (±R) share one product.
  const flip = q.y > P - q.y;
  const bq = remembered(mod(b, N), flip ? { x: q.x, y: P - q.y } : q, multiplyNative);
  const right = bq && flip ? { x: bq.x, y: mod(P - bq.y) } : bq;
  const sum = addAffine(remembered(mod(a, N), G, multiplyG), right);
  return sum && { ...sum }; // the remembered points stay ours
}

/**
 * The last few products. OpenSSL's P-384 takes 1–2 ms per multiplication, and key recovery repeats
 * them: with Contrast's fixed signature (r = 2, s = 1) b·q is the same two products for every ID
 * block, and a·G is shared by both candidates of one recovery.
 */
const products = new Map<string, Point | undefined>();
function remembered(k: bigint, q: Point, fn: (k: bigint, q: Point) => Point | undefined): Point | undefined {
  const key = `${k.toString(16)}:${q.x.toString(16)}:${q.y.toString(16)}`;
  if (products.has(key)) return products.get(key);
  const out = fn(k, q);
  if (products.size >= 16) products.delete(products.keys().next().value!);
  products.set(key, out);
  return out;
}

function ecdh(k: bigint): ReturnType<typeof createECDH> {
  const e = createECDH('secp384r1');
  e.setPrivateKey(bigIntToBytes(k, 48));
  return e;
}

function encode(p: Point): Buffer {
  return Buffer.concat([Buffer.from([4]), bigIntToBytes(p.x, 48), bigIntToBytes(p.y, 48)]);
}

/** k·G for 0 ≤ k < N. */
function multiplyG(k: bigint, _g: Point): Point | undefined {
  if (k === 0n) return undefined;
  const pub = ecdh(k).getPublicKey();
  return { x: bytesToBigInt(pub.subarray(1, 49)), y: bytesToBigInt(pub.subarray(49, 97)) };
}

/** x of k·q for 0 < k < N and q on the curve (of prime order N, so k·q is never infinity). */
function xOfMultiple(k: bigint, q: Point): bigint {
  return bytesToBigInt(ecdh(k).computeSecret(encode(q)));
}

/**
 * k·q for 0 ≤ k < N. ECDH yields only x; of the two points with that x, k·q is the one that
 * gives (k+1)·q's x when q is added (−k·q + q has another x unless q is of order 2, which P-384 has not).
 */
function multiplyNative(k: bigint, q: Point): Point | undefined {
  if (k === 0n) return undefined;
  if (!isOnCurve(q)) throw new RangeError('point is not on P-384');
  if (k === N - 1n) return { x: q.x, y: mod(P - q.y) };
  const x = xOfMultiple(k, q);
  const y = sqrtModP(curveRhs(x));
  if (y === undefined) throw new Error('P-384: ECDH gave an x with no point');
  const next = xOfMultiple(k + 1n, q);
  const candidate = { x, y };
  return addAffine(candidate, q)?.x === next ? candidate : { x, y: mod(P - y) };
}

/** p + q in affine coordinates (undefined = the point at infinity). */
export function addAffine(p: Point | undefined, q: Point | undefined): Point | undefined {
  if (!p) return q;
  if (!q) return p;
  let lambda: bigint;
  if (p.x === q.x) {
    if (mod(p.y + q.y) === 0n) return undefined;
    lambda = mod(3n * (p.x * p.x - 1n) * modInverse(2n * p.y, P)!); // tangent, a = −3
  } else lambda = mod((q.y - p.y) * modInverse(q.x - p.x, P)!);
  const x = mod(lambda * lambda - p.x - q.x);
  return { x, y: mod(lambda * (p.x - x) - p.y) };
}
