// Builtin registry and argument helpers. Messages follow regorus wording so policies and tests see
// the same errors the Kata agent would report.
import { BuiltinError } from '../errors.js';
import { isInt } from '../numbers.js';
import { RObject, RSet, stringifyValue, type Value } from '../value.js';

export interface BuiltinContext {
  strict: boolean;
  /** Wall-clock time fixed when the query started: `time.now_ns` is the same within one evaluation. */
  nowNs: bigint;
  /** limits.ts: builtins that build collections check their size before allocating */
  maxCollection: number;
  /** limits.ts: nesting allowed in documents that json/yaml.unmarshal read */
  maxNesting: number;
}

export type BuiltinFn = (args: Value[], ctx: BuiltinContext) => Value | undefined;

export const BUILTINS = new Map<string, { arity: number; fn: BuiltinFn }>();

export function def(name: string, arity: number, fn: BuiltinFn): void {
  BUILTINS.set(name, { arity, fn });
}

export function fail(name: string, what: string, v: Value): never {
  throw new BuiltinError(`\`${name}\` expects ${what} argument. Got \`${stringifyValue(v)}\` instead`);
}

export function str(name: string, v: Value | undefined): string {
  if (typeof v !== 'string') fail(name, 'string', v ?? null);
  return v;
}

export function num(name: string, v: Value | undefined): number | bigint {
  if (typeof v !== 'number' && typeof v !== 'bigint') fail(name, 'numeric', v ?? null);
  return v;
}

export function int(name: string, v: Value | undefined): number {
  const n = num(name, v);
  if (!isInt(n))
    throw new BuiltinError(`\`${name}\` expects integer argument. Got \`${stringifyValue(n)}\` instead`);
  return Number(n);
}

export function arr(name: string, v: Value | undefined): Value[] {
  if (!Array.isArray(v)) fail(name, 'array', v ?? null);
  return v;
}

export function obj(name: string, v: Value | undefined): RObject {
  if (!(v instanceof RObject)) fail(name, 'object', v ?? null);
  return v;
}

export function set(name: string, v: Value | undefined): RSet {
  if (!(v instanceof RSet)) fail(name, 'set', v ?? null);
  return v;
}

export function bool(name: string, v: Value | undefined): boolean {
  if (typeof v !== 'boolean') fail(name, 'boolean', v ?? null);
  return v;
}

/** elements of an array or set */
export function items(name: string, v: Value | undefined, msg = 'array/set'): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.sortedValues();
  throw new BuiltinError(
    `\`${name}\` requires ${msg} argument. Got \`${stringifyValue(v ?? null)}\` instead`,
  );
}
