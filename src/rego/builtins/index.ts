// Builtin functions. Each group registers itself in BUILTINS on import.
import './strings.js';
import './collections.js';
import './encoding.js';
import './jsonpatch.js';
import { BUILTINS, type BuiltinContext, type BuiltinFn } from './registry.js';
import type { Value } from '../value.js';

export type { BuiltinContext, BuiltinFn };

export function builtinArity(name: string): number | undefined {
  return BUILTINS.get(name)?.arity;
}

/** arity and implementation of a builtin, for callers that resolve a call site once */
export function lookupBuiltin(name: string): { arity: number; fn: BuiltinFn } | undefined {
  return BUILTINS.get(name);
}

export function callBuiltin(name: string, args: Value[], ctx: BuiltinContext): Value | undefined {
  const b = BUILTINS.get(name);
  if (!b) return undefined;
  return b.fn(args, ctx);
}
