// Arithmetic with exact integers: JS numbers while results stay within 2^53, bigint beyond (the
// same results regorus gives for large integer literals); non-integers are IEEE doubles.
import { BuiltinError } from './errors.js';
import { normInt, RSet, stringifyValue, type Value } from './value.js';

export function isInt(v: number | bigint): boolean {
  return typeof v === 'bigint' || Number.isInteger(v);
}

function big(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

const OPNAME: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod' };

export function arith(op: string, a: Value, b: Value, name = OPNAME[op] ?? op): Value {
  if (op === '-' && a instanceof RSet && b instanceof RSet) {
    const out = new RSet();
    for (const [k, v] of a.m) if (!b.m.has(k)) out.m.set(k, v);
    return out;
  }
  if (typeof a !== 'number' && typeof a !== 'bigint') {
    throw new BuiltinError(`\`${name}\` expects numeric argument. Got \`${stringifyValue(a)}\` instead`);
  }
  if (typeof b !== 'number' && typeof b !== 'bigint') {
    throw new BuiltinError(`\`${name}\` expects numeric argument. Got \`${stringifyValue(b)}\` instead`);
  }
  return numOp(op, a, b);
}

export function numOp(op: string, a: number | bigint, b: number | bigint): number | bigint {
  const ints = isInt(a) && isInt(b);
  switch (op) {
    case '+':
      if (typeof a === 'number' && typeof b === 'number') {
        const r = a + b;
        if (!ints || Number.isSafeInteger(r)) return r;
      }
      return ints ? normInt(big(a) + big(b)) : Number(a) + Number(b);
    case '-':
      if (typeof a === 'number' && typeof b === 'number') {
        const r = a - b;
        if (!ints || Number.isSafeInteger(r)) return r;
      }
      return ints ? normInt(big(a) - big(b)) : Number(a) - Number(b);
    case '*':
      if (typeof a === 'number' && typeof b === 'number') {
        const r = a * b;
        if (!ints || Number.isSafeInteger(r)) return r === 0 ? 0 : r;
      }
      return ints ? normInt(big(a) * big(b)) : Number(a) * Number(b);
    case '/': {
      if (Number(b) === 0) throw new BuiltinError('divide by zero');
      if (ints && (typeof a === 'bigint' || typeof b === 'bigint')) {
        const x = big(a);
        const y = big(b);
        if (x % y === 0n) return normInt(x / y);
      }
      return Number(a) / Number(b);
    }
    case '%': {
      if (!ints) throw new BuiltinError('modulo on floating-point number');
      if (Number(b) === 0) throw new BuiltinError('modulo by zero');
      if (typeof a === 'number' && typeof b === 'number') {
        const r = a % b;
        return r === 0 ? 0 : r;
      }
      return normInt(big(a) % big(b));
    }
  }
  throw new BuiltinError(`unknown operator ${op}`);
}

export function setOp(op: string, a: Value, b: Value): Value {
  const name = op === '|' ? 'or' : 'and';
  if (!(a instanceof RSet))
    throw new BuiltinError(`\`${name}\` expects set argument. Got \`${stringifyValue(a)}\` instead`);
  if (!(b instanceof RSet))
    throw new BuiltinError(`\`${name}\` expects set argument. Got \`${stringifyValue(b)}\` instead`);
  const out = new RSet();
  if (op === '|') {
    for (const [k, v] of a.m) out.m.set(k, v);
    for (const [k, v] of b.m) out.m.set(k, v);
  } else {
    for (const [k, v] of a.m) if (b.m.has(k)) out.m.set(k, v);
  }
  return out;
}
