// Plain BigInt P-384 scalar multiplication in Jacobian coordinates (no modular inversion per step):
// the reference src/snp/p384.ts's native multiplications (Node's ECDH) are tested against. Test code
// only: the shipped recovery does not need it.
import { G, P, mod, modInverse, type Point } from '../../src/snp/p384.js';

interface Jacobian {
  x: bigint;
  y: bigint;
  z: bigint; // 0 = point at infinity
}

const INFINITY: Jacobian = { x: 1n, y: 1n, z: 0n };

function double(p: Jacobian): Jacobian {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  // dbl-2001-b for a = −3
  const delta = mod(p.z * p.z);
  const gamma = mod(p.y * p.y);
  const beta = mod(p.x * gamma);
  const alpha = mod(3n * (p.x - delta) * (p.x + delta));
  const x = mod(alpha * alpha - 8n * beta);
  const z = mod((p.y + p.z) * (p.y + p.z) - gamma - delta);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma);
  return { x, y, z };
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  // add-2007-bl
  const z1z1 = mod(p.z * p.z);
  const z2z2 = mod(q.z * q.z);
  const u1 = mod(p.x * z2z2);
  const u2 = mod(q.x * z1z1);
  const s1 = mod(p.y * q.z * z2z2);
  const s2 = mod(q.y * p.z * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1);
  const i = mod(4n * h * h);
  const j = mod(h * i);
  const r = mod(2n * (s2 - s1));
  const v = mod(u1 * i);
  const x = mod(r * r - j - 2n * v);
  const y = mod(r * (v - x) - 2n * s1 * j);
  const z = mod(((p.z + q.z) * (p.z + q.z) - z1z1 - z2z2) * h);
  return { x, y, z };
}

function toAffine(p: Jacobian): Point | undefined {
  if (p.z === 0n) return undefined;
  const zInv = modInverse(p.z, P)!;
  const zInv2 = mod(zInv * zInv);
  return { x: mod(p.x * zInv2), y: mod(p.y * zInv2 * zInv) };
}

function multiplyJacobian(k: bigint, p: Point): Jacobian {
  let acc = INFINITY;
  const base: Jacobian = { x: p.x, y: p.y, z: 1n };
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    acc = double(acc);
    if ((k >> i) & 1n) acc = add(acc, base);
  }
  return acc;
}

/** k·p (undefined = the point at infinity). */
export function multiply(k: bigint, p: Point): Point | undefined {
  return k === 0n ? undefined : toAffine(multiplyJacobian(k, p));
}

/** a·G + b·q (undefined = the point at infinity), the BigInt way. */
export function linearCombinationJacobian(a: bigint, b: bigint, q: Point): Point | undefined {
  const left = a === 0n ? INFINITY : multiplyJacobian(a, G);
  const right = b === 0n ? INFINITY : multiplyJacobian(b, q);
  return toAffine(add(left, right));
}
