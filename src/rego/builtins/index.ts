// Builtin functions. Each group registers itself in BUILTINS on import.
import './strings.js';
import './collections.js';
import './encoding.js';
import './jsonpatch.js';
import { BUILTINS, type BuiltinContext } from './registry.js';
import type { Value } from '../value.js';

export type { BuiltinContext };

export function builtinArity(name: string): number | undefined {
  return BUILTINS.get(name)?.arity;
}

export function callBuiltin(name: string, args: Value[], ctx: BuiltinContext): Value | undefined {
  const b = BUILTINS.get(name);
  if (!b) return undefined;
  return b.fn(args, ctx);
}

/** names of all implemented builtins (for the README's coverage list) */
export function builtinNames(): string[] {
  return [...BUILTINS.keys()].sort();
}
