// Evaluator: backtracking search written in continuation-passing style. Every enumerator takes a
// callback and returns `true` when the search should stop (e.g. `not` found a solution, a complete
// rule with a constant value found one). Variable bindings live in one Map per rule body with undo
// on backtrack. Rule values are cached per evaluation context (a `with` creates a fresh context).
import type { Expr, Literal, Rule, RuleNode, WithMod } from './ast.js';
import { callBuiltin, lookupBuiltin, type BuiltinContext, type BuiltinFn } from './builtins/index.js';
import { BuiltinError, RegoEvalError, RegoLimitError, type Loc } from './errors.js';
import { collectionError, type Budget } from './limits.js';
import { arith, setOp } from './numbers.js';
import { printable, printArg } from './print.js';
import { compare, equal, RObject, RSet, stringifyValue, toJSON, type Value } from './value.js';

/**
 * Variable bindings of a rule body. An unbound variable maps to undefined (or is absent): unbinding
 * stores undefined rather than deleting, which keeps the Map's entries in place on backtracking.
 */
export type Env = Map<string, Value | undefined>;
type K = () => boolean;
type KV = (v: Value) => boolean;

/** Stands for an undefined side of a failed comparison in a trace entry's bindings. */
export const TRACE_UNDEFINED = '<undefined>';

/** One rule body that produced no solution, at the expression where it stopped. */
export interface TraceEntry {
  rule: string;
  file: string;
  line: number;
  col: number;
  text: string;
  bindings: Record<string, unknown>;
  depth: number;
}

interface Frame {
  rule: string;
  file: string;
  src: string;
  lits: Literal[];
  maxIdx: number;
  bindings: Record<string, unknown>;
}

const IN_PROGRESS = Symbol('in-progress');
const NO_LITERALS: Literal[] = [];

/** The rule a message names: restored when evaluation leaves a rule. */
interface RuleSite {
  file: string;
  src: string;
}

interface DefResult {
  found: boolean;
  out: Value;
}
/** What a call expression invokes (see Evaluator.resolveCall). */
interface CallSite {
  /** rule tree a function rule was found in */
  root: RuleNode;
  node: RuleNode | null;
  fn: BuiltinFn | null;
  arity: number;
  /** key of a `with` replacement of this function */
  mockKey: string;
  print: boolean;
  walk: boolean;
  /** name of the missing function (such sites are not cached) */
  missing: string | null;
}
const callSites = new WeakMap<Expr, CallSite>();
const MEMO = Symbol('memo');

export interface EvalShared {
  root: RuleNode;
  strict: boolean;
  /** Query start time in ns (time.now_ns is constant within one evaluation, as in OPA and regorus). */
  nowNs: bigint;
  prints: string[];
  /** print lines start with `file:line: ` (regorus' gathered form) */
  printLocations: boolean;
  trace: TraceEntry[] | null;
  depth: number;
  /** steps, clock and limits of this query */
  budget: Budget;
}

export class Ctx {
  readonly cache = new Map<RuleNode, Value | undefined | typeof IN_PROGRESS>();
  /**
   * Function results per evaluation: nested maps keyed by the argument values themselves (identity
   * for composites, value for scalars), so a hit needs no hashing of large documents.
   */
  readonly fnMemo = new Map<RuleNode, Map<unknown, unknown>>();
  constructor(
    readonly shared: EvalShared,
    readonly input: Value | undefined,
    readonly data: Value,
    /** `with data.x as v`: path key -> value */
    readonly overrides: Map<string, Value> | null,
    /** `with f as g`: builtin or function name -> replacement */
    readonly mocks: Map<string, Expr | Value> | null,
  ) {}
}

function evalErr(msg: string, e: { p: { line: number; col: number } } | null, file?: string): RegoEvalError {
  const loc: Loc | undefined = e && file ? { file, line: e.p.line, col: e.p.col } : undefined;
  return new RegoEvalError(msg, loc);
}

export class Evaluator {
  /** file of the module whose rule is being evaluated (for error locations) */
  private file = '<query>';
  private src = '';
  private frame: Frame | null = null;
  /** set when an array pattern met an array of another length (some-in reports it if nothing matched) */
  private lenMismatch = false;

  private readonly bctx: BuiltinContext;
  private readonly budget: Budget;
  /** evaluation steps of this query (limits.ts); `nextCheck`: when to consult the budget again */
  private steps = 0;
  private nextCheck: number;

  constructor(readonly shared: EvalShared) {
    this.budget = shared.budget;
    this.nextCheck = shared.budget.nextCheck(0);
    this.bctx = {
      strict: shared.strict,
      nowNs: shared.nowNs,
      maxCollection: shared.budget.limits.maxCollectionSize,
      maxNesting: shared.budget.limits.maxNesting,
    };
  }

  // ------------------------------------------------------------------ bodies
  evalBody(lits: Literal[], i: number, env: Env, ctx: Ctx, k: K): boolean {
    // one step per literal tried and per solution (a counter and a comparison: see limits.ts)
    if (++this.steps > this.nextCheck) this.nextCheck = this.budget.check(this.steps);
    if (i === lits.length) return k();
    const lit = lits[i]!;
    const fr = this.frame;
    if (fr && fr.lits === lits && i >= fr.maxIdx) {
      fr.maxIdx = i;
      fr.bindings = this.snapshot(lit, env, ctx);
    }
    // (anonymous closures on purpose: tsx's keepNames wraps named ones in a costly __name call)
    if (lit.t !== 'some' && lit.withs.length > 0) {
      return this.withMods(lit.withs, env, ctx, (c2) =>
        this.evalLiteral(lit, env, c2, () => this.evalBody(lits, i + 1, env, ctx, k)),
      );
    }
    return this.evalLiteral(lit, env, ctx, () => this.evalBody(lits, i + 1, env, ctx, k));
  }

  private evalLiteral(lit: Literal, env: Env, ctx: Ctx, k: K): boolean {
    switch (lit.t) {
      case 'some': {
        // shadow outer bindings of the declared names
        const saved: [string, Value][] = [];
        for (const v of lit.vars) {
          const old = env.get(v);
          if (old !== undefined) {
            saved.push([v, old]);
            env.set(v, undefined);
          }
        }
        const r = k();
        for (const [n, v] of saved) env.set(n, v);
        return r;
      }
      case 'somein': {
        let solutions = 0;
        const saved = this.lenMismatch;
        this.lenMismatch = false;
        const r = this.shadowing([lit.key, lit.value], env, () =>
          this.evalExpr(lit.coll, env, ctx, (coll) =>
            this.iterateIn(lit.key, lit.value, coll, env, ctx, () => (solutions++, k()), lit),
          ),
        );
        const mismatch = this.lenMismatch;
        this.lenMismatch = saved;
        if (solutions === 0 && mismatch)
          throw evalErr('mismatch in number of array elements', lit, this.file);
        return r;
      }
      case 'every':
        return this.evalEvery(lit, env, ctx, k);
      case 'expr': {
        if (lit.neg) {
          let found = false;
          this.evalTruthy(lit.e, env, ctx, () => {
            found = true;
            return true;
          });
          return found ? false : k();
        }
        return this.evalTruthy(lit.e, env, ctx, k);
      }
    }
  }

  private shadowing(pats: (Expr | null)[], env: Env, k: K): boolean {
    const saved: [string, Value][] = [];
    for (const p of pats) {
      if (!p) continue;
      for (const n of patternVars(p)) {
        const old = env.get(n);
        if (old !== undefined) {
          saved.push([n, old]);
          env.set(n, undefined);
        }
      }
    }
    if (saved.length === 0) return k();
    const r = k();
    for (const [n, v] of saved) env.set(n, v);
    return r;
  }

  private iterateIn(
    key: Expr | null,
    value: Expr,
    coll: Value,
    env: Env,
    ctx: Ctx,
    k: K,
    at: { p: Expr['p'] },
  ): boolean {
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length; i++) {
        const r = key
          ? this.match(key, i, env, ctx, () => this.match(value, coll[i]!, env, ctx, k))
          : this.match(value, coll[i]!, env, ctx, k);
        if (r) return true;
      }
      return false;
    }
    if (coll instanceof RSet) {
      for (const v of coll.sortedValues()) {
        const r = key
          ? this.match(key, v, env, ctx, () => this.match(value, v, env, ctx, k))
          : this.match(value, v, env, ctx, k);
        if (r) return true;
      }
      return false;
    }
    if (coll instanceof RObject) {
      for (const [kk, v] of coll.sortedEntries()) {
        const r = key
          ? this.match(key, kk, env, ctx, () => this.match(value, v, env, ctx, k))
          : this.match(value, v, env, ctx, k);
        if (r) return true;
      }
      return false;
    }
    return this.builtinFailure('`some .. in collection` expects array/set/object.', at);
  }

  private builtinFailure(msg: string, at: { p: Expr['p'] }): boolean {
    if (this.shared.strict) throw evalErr(msg, at, this.file);
    return false;
  }

  private evalEvery(lit: Extract<Literal, { t: 'every' }>, env: Env, ctx: Ctx, k: K): boolean {
    let ok = true;
    let any = false;
    this.evalExpr(lit.coll, env, ctx, (coll) => {
      any = true;
      if (Array.isArray(coll)) {
        for (let i = 0; i < coll.length; i++)
          if (!this.everyElem(lit, i, coll[i]!, env, ctx)) return !(ok = false);
      } else if (coll instanceof RSet) {
        for (const v of coll.sortedValues()) if (!this.everyElem(lit, v, v, env, ctx)) return !(ok = false);
      } else if (coll instanceof RObject) {
        for (const [kk, v] of coll.sortedEntries())
          if (!this.everyElem(lit, kk, v, env, ctx)) return !(ok = false);
      } else {
        ok = false;
      }
      return true;
    });
    if (!any) return false;
    return ok ? k() : false;
  }

  /** does the body of `every` hold for this element? */
  private everyElem(lit: Extract<Literal, { t: 'every' }>, kv: Value, v: Value, env: Env, ctx: Ctx): boolean {
    let sat = false;
    this.shadowing([lit.key, lit.value], env, () => {
      if (lit.key) {
        return this.match(lit.key, kv, env, ctx, () =>
          this.match(lit.value, v, env, ctx, () =>
            this.evalBody(lit.body, 0, env, ctx, () => ((sat = true), true)),
          ),
        );
      }
      return this.match(lit.value, v, env, ctx, () =>
        this.evalBody(lit.body, 0, env, ctx, () => ((sat = true), true)),
      );
    });
    return sat;
  }

  /** expression as a literal: succeeds for each value that is not false */
  private evalTruthy(e: Expr, env: Env, ctx: Ctx, k: K): boolean {
    switch (e.t) {
      case 'unify':
        return this.unify(e.l, e.r, env, ctx, k, e, false);
      case 'assign':
        return this.unify(e.l, e.r, env, ctx, k, e, true);
      case 'call':
        return this.evalCall(e, env, ctx, (v) => (v === false ? false : k()), true);
      case 'in':
        if (e.key === null && e.value.t === 'var' && env.get(e.value.name) === undefined) {
          // unbound membership acts like `some x in coll` (regorus allows it in queries)
          return this.evalExpr(e.coll, env, ctx, (coll) =>
            this.iterateIn(null, e.value, coll, env, ctx, k, e),
          );
        }
        break;
      default:
        break;
    }
    return this.evalExpr(e, env, ctx, (v) => (v === false ? false : k()));
  }

  // ------------------------------------------------------------------ unification
  private unify(l: Expr, r: Expr, env: Env, ctx: Ctx, k: K, at: Expr, isAssign: boolean): boolean {
    if (l.t === 'array' && r.t === 'array') {
      if (l.items.length !== r.items.length) {
        throw evalErr('mismatch in number of array elements', at, this.file);
      }
      const pairs: [Expr, Expr][] = l.items.map((x, i) => [x, r.items[i]!]);
      return this.unifyPairs(pairs, 0, env, ctx, k, at, isAssign);
    }
    if (l.t === 'object' && r.t === 'object' && this.isPattern(l, env) && this.isPattern(r, env)) {
      const lk = l.entries.map(([ke]) => this.evalOne(ke, env, ctx));
      const rk = r.entries.map(([ke]) => this.evalOne(ke, env, ctx));
      if (lk.some((x) => x === undefined) || rk.some((x) => x === undefined)) return false;
      if (lk.length !== rk.length) {
        throw evalErr(
          `object field count mismatch in assignment: left has ${lk.length} fields, right has ${rk.length} fields`,
          at,
          this.file,
        );
      }
      const pairs: [Expr, Expr][] = [];
      for (let j = 0; j < rk.length; j++) {
        const li = lk.findIndex((x) => equal(x as Value, rk[j] as Value));
        if (li < 0) {
          throw evalErr(
            `key ${stringifyValue(rk[j] as Value)} not found in left-hand side object during destructuring`,
            at,
            this.file,
          );
        }
        pairs.push([l.entries[li]![1], r.entries[j]![1]]);
      }
      return this.unifyPairs(pairs, 0, env, ctx, k, at, isAssign);
    }
    const ls = shapeOf(l);
    const rs = shapeOf(r);
    if ((ls === 'array' && rs === 'object') || (ls === 'object' && rs === 'array')) {
      throw evalErr(
        'incompatible destructuring patterns: both sides must be arrays or objects with matching structure',
        at,
        this.file,
      );
    }
    if (isAssign || this.isPattern(l, env)) {
      return this.evalExpr(r, env, ctx, (rv) => this.match(l, rv, env, ctx, k, at));
    }
    if (this.isPattern(r, env)) {
      return this.evalExpr(l, env, ctx, (lv) => this.match(r, lv, env, ctx, k, at));
    }
    return this.evalExpr(l, env, ctx, (lv) =>
      this.evalExpr(r, env, ctx, (rv) => (equal(lv, rv) ? k() : false)),
    );
  }

  private unifyPairs(
    pairs: [Expr, Expr][],
    j: number,
    env: Env,
    ctx: Ctx,
    k: K,
    at: Expr,
    isAssign: boolean,
  ): boolean {
    if (j === pairs.length) return k();
    return this.unify(
      pairs[j]![0],
      pairs[j]![1],
      env,
      ctx,
      () => this.unifyPairs(pairs, j + 1, env, ctx, k, at, isAssign),
      at,
      isAssign,
    );
  }

  /** does the term contain an unbound local variable outside of refs/calls (a binding position)? */
  private isPattern(e: Expr, env: Env): boolean {
    switch (e.t) {
      case 'var':
        return env.get(e.name) === undefined;
      case 'array':
      case 'set':
        return e.items.some((x) => this.isPattern(x, env));
      case 'object':
        return e.entries.some(([, v]) => this.isPattern(v, env));
      default:
        return false;
    }
  }

  /** match a pattern term against a value, binding unbound variables */
  match(p: Expr, v: Value, env: Env, ctx: Ctx, k: K, at?: Expr): boolean {
    switch (p.t) {
      case 'var': {
        const cur = env.get(p.name);
        if (cur !== undefined) return equal(cur, v) ? k() : false;
        env.set(p.name, v);
        const r = k();
        env.set(p.name, undefined);
        return r;
      }
      case 'array': {
        if (!this.isPattern(p, env)) {
          if (Array.isArray(v) && v.length !== p.items.length) {
            this.lenMismatch = true;
            return false;
          }
          break;
        }
        if (!Array.isArray(v)) return false;
        if (v.length !== p.items.length) {
          if (at) throw evalErr('mismatch in number of array elements', at, this.file);
          this.lenMismatch = true;
          return false;
        }
        return this.matchItems(p.items, v, 0, env, ctx, k, at);
      }
      case 'object': {
        if (!this.isPattern(p, env)) break;
        if (!(v instanceof RObject)) return false;
        const keys: Value[] = [];
        for (const [ke] of p.entries) {
          const kv = this.evalOne(ke, env, ctx);
          if (kv === undefined) return false;
          keys.push(kv);
        }
        if (at && at.t === 'assign') {
          if (keys.length !== v.size) {
            throw evalErr(
              `object field count mismatch in assignment: left has ${keys.length} fields, right has ${v.size} fields`,
              at,
              this.file,
            );
          }
        }
        if (keys.length !== v.size || keys.some((kk) => !v.has(kk))) {
          if (at && at.t === 'unify' && keys.length === v.size) {
            const ek = keys.map(stringifyValue).sort();
            const gk = v.sortedKeys().map(stringifyValue);
            throw evalErr(
              `object literal keys mismatch. Expected keys [${ek.join(', ')}] got [${gk.join(', ')}].`,
              at,
              this.file,
            );
          }
          return false;
        }
        // the object's values in the order of the pattern's keys, matched like array items
        const values = keys.map((key) => v.get(key)!);
        return this.matchItems(
          p.entries.map((entry) => entry[1]),
          values,
          0,
          env,
          ctx,
          k,
          at,
        );
      }
      case 'scalar':
        if (Array.isArray(p.v) && Array.isArray(v) && p.v.length !== v.length) this.lenMismatch = true;
        return equal(p.v, v) ? k() : false;
      default:
        break;
    }
    return this.evalExpr(p, env, ctx, (pv) => (equal(pv, v) ? k() : false));
  }

  private matchItems(
    items: Expr[],
    v: Value[],
    i: number,
    env: Env,
    ctx: Ctx,
    k: K,
    at: Expr | undefined,
  ): boolean {
    if (i === items.length) return k();
    return this.match(
      items[i]!,
      v[i]!,
      env,
      ctx,
      () => this.matchItems(items, v, i + 1, env, ctx, k, at),
      at,
    );
  }

  // ------------------------------------------------------------------ expressions
  evalOne(e: Expr, env: Env, ctx: Ctx): Value | undefined {
    let out: Value | undefined;
    this.evalExpr(e, env, ctx, (v) => {
      out = v;
      return true;
    });
    return out;
  }

  /** evaluate an expression under `with` modifiers (query literals) */
  evalExprWith(e: Expr, withs: WithMod[], env: Env, ctx: Ctx, k: KV): boolean {
    if (withs.length === 0) return this.evalExpr(e, env, ctx, k);
    return this.withMods(withs, env, ctx, (c2) => this.evalExpr(e, env, c2, k));
  }

  evalExpr(e: Expr, env: Env, ctx: Ctx, k: KV): boolean {
    switch (e.t) {
      case 'scalar':
        return k(e.v);
      case 'var': {
        const v = env.get(e.name);
        return v === undefined ? false : k(v);
      }
      case 'input':
        return ctx.input === undefined ? false : k(ctx.input);
      case 'data':
        return this.evalDataRef([], 0, this.shared.root, env, ctx, k);
      case 'ref':
        return this.evalRef(e, env, ctx, k);
      case 'array':
        return this.evalList(e.items, 0, [], env, ctx, (items) => k(items));
      case 'set':
        return this.evalList(e.items, 0, [], env, ctx, (items) => k(RSet.of(items)));
      case 'object': {
        const flat: Expr[] = [];
        for (const [kk, vv] of e.entries) flat.push(kk, vv);
        return this.evalList(flat, 0, [], env, ctx, (vals) => {
          const o = new RObject();
          for (let i = 0; i < vals.length; i += 2) o.set(vals[i]!, vals[i + 1]!);
          return k(o);
        });
      }
      case 'arraycompr': {
        const out: Value[] = [];
        this.evalBody(e.body, 0, env, ctx, () =>
          this.evalExpr(e.term, env, ctx, (v) => {
            if (out.length >= this.bctx.maxCollection)
              this.shared.budget.collection(out.length + 1, 'an array comprehension', this.loc(e));
            out.push(v);
            return false;
          }),
        );
        return k(out);
      }
      case 'setcompr': {
        const out = new RSet();
        this.evalBody(e.body, 0, env, ctx, () =>
          this.evalExpr(e.term, env, ctx, (v) => {
            out.add(v);
            if (out.size > this.bctx.maxCollection)
              this.shared.budget.collection(out.size, 'a set comprehension', this.loc(e));
            return false;
          }),
        );
        return k(out);
      }
      case 'objcompr': {
        const out = new RObject();
        this.evalBody(e.body, 0, env, ctx, () =>
          this.evalExpr(e.key, env, ctx, (kv) =>
            this.evalExpr(e.value, env, ctx, (vv) => {
              const old = out.get(kv);
              if (old !== undefined && !equal(old, vv)) {
                throw evalErr(
                  `value for key \`${stringifyValue(kv)}\` generated multiple times: \`${stringifyValue(old)}\` and \`${stringifyValue(vv)}\``,
                  e,
                  this.file,
                );
              }
              out.set(kv, vv);
              if (out.size > this.bctx.maxCollection)
                this.shared.budget.collection(out.size, 'an object comprehension', this.loc(e));
              return false;
            }),
          ),
        );
        return k(out);
      }
      case 'call':
        return this.evalCall(e, env, ctx, k);
      case 'bin':
        return this.evalBin(e, env, ctx, k);
      case 'neg':
        return this.evalExpr(e.e, env, ctx, (v) => {
          const r = this.guard(() => arith('-', 0, v, 'sub'), e);
          return r === undefined ? false : k(r);
        });
      case 'in':
        return this.evalExpr(e.coll, env, ctx, (coll) => {
          if (e.key) {
            return this.evalExpr(e.key, env, ctx, (kv) =>
              this.evalExpr(e.value, env, ctx, (vv) => {
                let found = false;
                if (Array.isArray(coll))
                  found = typeof kv === 'number' && coll[kv] !== undefined && equal(coll[kv]!, vv);
                else if (coll instanceof RObject) {
                  const x = coll.get(kv);
                  found = x !== undefined && equal(x, vv);
                } else if (coll instanceof RSet) found = coll.has(vv) && equal(kv, vv);
                return k(found);
              }),
            );
          }
          return this.evalExpr(e.value, env, ctx, (vv) => {
            let found = false;
            if (Array.isArray(coll)) found = coll.some((x) => equal(x, vv));
            else if (coll instanceof RSet) found = coll.has(vv);
            else if (coll instanceof RObject) {
              for (const [, x] of coll.m.values())
                if (equal(x, vv)) {
                  found = true;
                  break;
                }
            }
            return k(found);
          });
        });
      case 'unify':
      case 'assign':
        return this.unify(e.l, e.r, env, ctx, () => k(true), e, e.t === 'assign');
    }
  }

  /**
   * Each combination of the items' values, as a fresh array (`acc` is one when i is 0). Constants and
   * bound variables are read directly; only other items go through continuations.
   */
  private evalList(
    items: Expr[],
    i: number,
    acc: Value[],
    env: Env,
    ctx: Ctx,
    k: (vals: Value[]) => boolean,
  ): boolean {
    const start = i;
    for (; i < items.length; i++) {
      const it = items[i]!;
      if (it.t === 'scalar') acc[i] = it.v;
      else if (it.t === 'var') {
        const v = env.get(it.name);
        if (v === undefined) return false;
        acc[i] = v;
      } else break;
    }
    // reached directly from the caller, acc is not written again after k: no copy needed
    if (i === items.length) return k(start === 0 ? acc : acc.slice(0, items.length));
    const at = i;
    return this.evalExpr(items[at]!, env, ctx, (v) => {
      acc[at] = v;
      return this.evalList(items, at + 1, acc, env, ctx, k);
    });
  }

  /** a builtin returned a collection: its elements count as steps, its size against the limit */
  private chargeResult(v: Value[] | RObject | RSet, at: Expr): void {
    const size = Array.isArray(v) ? v.length : v.size;
    if (size > this.bctx.maxCollection) {
      const name = at.t === 'call' ? `\`${at.name}\`` : 'a builtin';
      throw collectionError(size, this.bctx.maxCollection, `the result of ${name}`, this.loc(at));
    }
    this.steps += size;
    if (this.steps > this.nextCheck) this.nextCheck = this.budget.check(this.steps);
  }

  private loc(e: Expr): Loc {
    return { file: this.file, line: e.p.line, col: e.p.col };
  }

  private depthExceeded(r: Rule): never {
    this.shared.depth--;
    const limit = this.shared.budget.limits.maxCallDepth;
    throw new RegoLimitError(
      `rule and function calls nested deeper than ${limit} levels at data.${r.module.pkg.concat(r.path).join('.')} (maxCallDepth; raise it with --max-depth)`,
      r.loc,
    );
  }

  private guard<T>(fn: () => T, at: { p: Expr['p'] }): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (err instanceof BuiltinError) {
        if (this.shared.strict) throw evalErr(err.message, at, this.file);
        return undefined;
      }
      throw this.locateLimit(err, at);
    }
  }

  /** a limit error from a builtin gets the location of the call */
  private locateLimit(err: unknown, at: { p: Expr['p'] }): unknown {
    if (err instanceof RegoLimitError && !err.loc)
      return new RegoLimitError(err.message.replace(/^error: /, ''), {
        file: this.file,
        line: at.p.line,
        col: at.p.col,
      });
    return err;
  }

  private evalBin(e: Extract<Expr, { t: 'bin' }>, env: Env, ctx: Ctx, k: KV): boolean {
    if (e.op === 'or') {
      let produced = false;
      const r = this.evalExpr(e.l, env, ctx, (lv) => {
        if (lv === false || lv === null) return false;
        produced = true;
        return k(lv);
      });
      if (r) return true;
      if (produced) return false;
      return this.evalExpr(e.r, env, ctx, k);
    }
    return this.evalExpr(e.l, env, ctx, (lv) =>
      this.evalExpr(e.r, env, ctx, (rv) => {
        switch (e.op) {
          case '==':
            return k(equal(lv, rv));
          case '!=':
            return k(!equal(lv, rv));
          case '<':
            return k(compare(lv, rv) < 0);
          case '<=':
            return k(compare(lv, rv) <= 0);
          case '>':
            return k(compare(lv, rv) > 0);
          case '>=':
            return k(compare(lv, rv) >= 0);
          case '|':
          case '&': {
            const r = this.guard(() => setOp(e.op, lv, rv), e);
            return r === undefined ? false : k(r);
          }
          default: {
            const r = this.guard(() => arith(e.op, lv, rv), e);
            return r === undefined ? false : k(r);
          }
        }
      }),
    );
  }

  // ------------------------------------------------------------------ refs
  private evalRef(e: Extract<Expr, { t: 'ref' }>, env: Env, ctx: Ctx, k: KV): boolean {
    if (e.head.t === 'data') return this.evalDataRef(e.path, 0, this.shared.root, env, ctx, k);
    if (e.head.t === 'var') {
      const hv = env.get(e.head.name);
      return hv === undefined ? false : this.walk(hv, e.path, 0, env, ctx, k);
    }
    if (e.head.t === 'input')
      return ctx.input === undefined ? false : this.walk(ctx.input, e.path, 0, env, ctx, k);
    return this.evalExpr(e.head, env, ctx, (hv) => this.walk(hv, e.path, 0, env, ctx, k));
  }

  /** index a value by the remaining path, iterating over unbound variables */
  walk(cur: Value, path: Expr[], i: number, env: Env, ctx: Ctx, k: KV): boolean {
    for (; i < path.length; i++) {
      const pe = path[i]!;
      if (pe.t === 'scalar') {
        const nv = index(cur, pe.v);
        if (nv === undefined) return false;
        cur = nv;
        continue;
      }
      if (pe.t === 'var' && env.get(pe.name) === undefined) {
        const name = pe.name;
        const rest = i + 1;
        if (Array.isArray(cur)) {
          for (let j = 0; j < cur.length; j++)
            if (this.bindWalk(name, j, cur[j]!, path, rest, env, ctx, k)) return true;
        } else if (cur instanceof RObject) {
          for (const [kk, vv] of cur.sortedEntries())
            if (this.bindWalk(name, kk, vv, path, rest, env, ctx, k)) return true;
        } else if (cur instanceof RSet) {
          for (const vv of cur.sortedValues())
            if (this.bindWalk(name, vv, vv, path, rest, env, ctx, k)) return true;
        }
        return false;
      }
      if (this.isPattern(pe, env)) {
        // e.g. x[[a, b]] over a set: match elements/keys
        const here = cur;
        const rest = i + 1;
        const keys: [Value, Value][] = Array.isArray(here)
          ? here.map((v, j) => [j, v] as [Value, Value])
          : here instanceof RObject
            ? here.sortedEntries()
            : here instanceof RSet
              ? here.sortedValues().map((v) => [v, v] as [Value, Value])
              : [];
        for (const [kk, vv] of keys) {
          if (this.match(pe, kk, env, ctx, () => this.walk(vv, path, rest, env, ctx, k))) return true;
        }
        return false;
      }
      const here = cur;
      const rest = i + 1;
      return this.evalExpr(pe, env, ctx, (key) => {
        const nv = index(here, key);
        return nv === undefined ? false : this.walk(nv, path, rest, env, ctx, k);
      });
    }
    return k(cur);
  }

  private bindWalk(
    name: string,
    key: Value,
    val: Value,
    path: Expr[],
    rest: number,
    env: Env,
    ctx: Ctx,
    k: KV,
  ): boolean {
    env.set(name, key);
    const r = this.walk(val, path, rest, env, ctx, k);
    env.set(name, undefined);
    return r;
  }

  private evalDataRef(path: Expr[], i: number, node: RuleNode, env: Env, ctx: Ctx, k: KV): boolean {
    if (ctx.overrides) {
      const ov = ctx.overrides.get(node.path.join('\u0000'));
      if (ov !== undefined) return this.walk(ov, path, i, env, ctx, k);
    }
    if (
      i === path.length ||
      !node.hasRules ||
      node.complete.length ||
      node.sets.length ||
      node.objects.length
    ) {
      const v = this.nodeValue(node, ctx);
      if (v === undefined) return false;
      return this.walk(v, path, i, env, ctx, k);
    }
    const pe = path[i]!;
    if (pe.t === 'scalar') return this.dataStep(pe.v, path, i, node, env, ctx, k);
    if (pe.t === 'var' && env.get(pe.name) === undefined) {
      const v = this.nodeValue(node, ctx);
      if (v === undefined) return false;
      return this.walk(v, path, i, env, ctx, k);
    }
    return this.evalExpr(pe, env, ctx, (key) => this.dataStep(key, path, i, node, env, ctx, k));
  }

  private dataStep(key: Value, path: Expr[], i: number, node: RuleNode, env: Env, ctx: Ctx, k: KV): boolean {
    if (typeof key === 'number' || typeof key === 'bigint') key = String(key);
    const child = typeof key === 'string' ? node.children.get(key) : undefined;
    if (child) {
      if (child.funcs.length && !child.complete.length) {
        if (child.funcs.some((f) => f.args.length > 0)) return false;
        const v = this.callFunction(child, [], ctx);
        return v === undefined ? false : this.walk(v, path, i + 1, env, ctx, k);
      }
      return this.evalDataRef(path, i + 1, child, env, ctx, k);
    }
    const base = this.baseAt(node.path, ctx);
    if (base === undefined) return false;
    const nv = index(base, key);
    if (nv === undefined) return false;
    return this.walk(nv, path, i + 1, env, ctx, k);
  }

  private baseAt(path: string[], ctx: Ctx): Value | undefined {
    let cur: Value | undefined = ctx.data;
    for (const seg of path) {
      if (!(cur instanceof RObject)) return undefined;
      cur = cur.getStr(seg);
      if (cur === undefined) return undefined;
    }
    return cur;
  }

  // ------------------------------------------------------------------ rules
  nodeValue(node: RuleNode, ctx: Ctx): Value | undefined {
    const cached = ctx.cache.get(node);
    if (cached === IN_PROGRESS) {
      throw new RegoEvalError(`recursion detected when evaluating data.${node.path.join('.')}`);
    }
    if (cached !== undefined || ctx.cache.has(node)) return cached as Value | undefined;
    ctx.cache.set(node, IN_PROGRESS);
    let v: Value | undefined;
    try {
      v = this.computeNode(node, ctx);
    } catch (err) {
      ctx.cache.delete(node);
      throw err;
    }
    ctx.cache.set(node, v);
    return v;
  }

  private computeNode(node: RuleNode, ctx: Ctx): Value | undefined {
    if (ctx.overrides) {
      const ov = ctx.overrides.get(node.path.join('\u0000'));
      if (ov !== undefined) return ov;
    }
    if (node.complete.length) {
      const b = this.baseAt(node.path, ctx);
      if (b !== undefined) return b;
      return this.evalComplete(node, ctx);
    }
    if (node.sets.length) {
      const out = new RSet();
      for (const r of node.sets) this.evalSetRule(r, ctx, out);
      return out;
    }
    if (node.funcs.length && !node.children.size) return undefined;
    const base = this.baseAt(node.path, ctx);
    let out: RObject;
    if (base instanceof RObject) out = base.clone();
    else if (base !== undefined && !node.hasRules) return base;
    else out = new RObject();
    for (const [name, child] of node.children) {
      if (!child.hasRules) continue;
      const v = this.nodeValue(child, ctx);
      if (v !== undefined) out.set(name, v);
    }
    for (const r of node.objects) this.evalObjectRule(r, ctx, out);
    return out;
  }

  /** Makes `r` the current rule (its file and source for messages, one call level deeper). */
  private enterRule(r: Rule): RuleSite {
    const saved = { file: this.file, src: this.src };
    this.file = r.module.file;
    this.src = r.module.src;
    if (++this.shared.depth > this.shared.budget.limits.maxCallDepth) this.depthExceeded(r);
    return saved;
  }

  private leaveRule(saved: RuleSite): void {
    this.shared.depth--;
    this.file = saved.file;
    this.src = saved.src;
  }

  private withRule<T>(r: Rule, fn: () => T): T {
    const saved = this.enterRule(r);
    try {
      return fn();
    } finally {
      this.leaveRule(saved);
    }
  }

  /** run a rule body, recording a trace entry when it yields no solution */
  private runBody(r: Rule, body: Literal[], env: Env, ctx: Ctx, k: K): boolean {
    if (!this.shared.trace) return this.evalBody(body, 0, env, ctx, k);
    const saved = this.frame;
    const fr: Frame = {
      rule: 'data.' + [...r.module.pkg, ...r.path].join('.'),
      file: r.module.file,
      src: r.module.src,
      lits: body,
      maxIdx: -1,
      bindings: {},
    };
    this.frame = fr;
    let solutions = 0;
    let res: boolean;
    const depth = this.shared.depth;
    try {
      res = this.evalBody(body, 0, env, ctx, () => {
        solutions++;
        this.frame = saved;
        try {
          return k();
        } finally {
          this.frame = fr;
        }
      });
    } finally {
      this.frame = saved;
    }
    if (solutions === 0 && fr.maxIdx >= 0) {
      const lit = body[fr.maxIdx]!;
      this.shared.trace.push({
        rule: fr.rule,
        file: fr.file,
        line: lit.p.line,
        col: lit.p.col,
        text: fr.src.slice(lit.p.start, lit.p.end),
        bindings: fr.bindings,
        depth,
      });
    }
    return res;
  }

  private snapshot(lit: Literal, env: Env, ctx: Ctx): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const names = new Set<string>();
    const collect = (e: Expr | null): void => {
      if (!e) return;
      walkExpr(e, (x) => {
        if (x.t === 'var' && !x.name.startsWith('_$')) names.add(x.name);
      });
    };
    if (lit.t === 'expr') collect(lit.e);
    else if (lit.t === 'somein' || lit.t === 'every') {
      collect(lit.coll);
    }
    for (const n of names) {
      const v = env.get(n);
      if (v !== undefined) out[n] = toJSON(v);
    }
    // values compared by a failing comparison
    if (lit.t === 'expr') {
      const e = lit.e.t === 'unify' || lit.e.t === 'bin' ? lit.e : null;
      if (e && (e.t === 'unify' || ['==', '!=', '<', '<=', '>', '>='].includes(e.op))) {
        const saved = this.frame;
        const savedTrace = this.shared.trace;
        const savedPrints = this.shared.prints.length;
        // evaluating the sides again must not add trace entries or print output
        this.frame = null;
        this.shared.trace = null;
        try {
          for (const side of [e.l, e.r]) {
            if (side.t === 'scalar' || side.t === 'var') continue;
            const text = this.src.slice(side.p.start, side.p.end);
            let v: Value | undefined;
            try {
              v = this.evalOne(side, env, ctx);
            } catch {
              v = undefined;
            }
            out[text] = v === undefined ? TRACE_UNDEFINED : toJSON(v);
          }
        } finally {
          this.frame = saved;
          this.shared.trace = savedTrace;
          this.shared.prints.length = savedPrints;
        }
      }
    }
    return out;
  }

  private evalComplete(node: RuleNode, ctx: Ctx): Value | undefined {
    let result: Value | undefined;
    let def: Rule | undefined;
    for (const r of node.complete) {
      if (r.isDefault) {
        def = r;
        continue;
      }
      const v = this.evalRuleDef(r, ctx, new Map(), r.constValue);
      if (v === undefined) continue;
      if (result !== undefined && !equal(result, v)) {
        throw new RegoEvalError('complete rules should not produce multiple outputs', r.loc);
      }
      result = v;
    }
    if (result === undefined && def) {
      result = this.withRule(def, () => this.evalOne(def.value!, new Map(), ctx));
    }
    return result;
  }

  /** evaluate a definition and its else chain; values from several solutions must agree */
  private evalRuleDef(r: Rule, ctx: Ctx, env: Env, firstOnly: boolean, what = 'rules'): Value | undefined {
    // (not through withRule: this runs for every function call and rule definition, no closure)
    const saved = this.enterRule(r);
    try {
      const st: DefResult = { found: false, out: null };
      this.evalDefStep(r, r.value, r.body ?? NO_LITERALS, env, ctx, firstOnly, what, st);
      if (st.found) return st.out;
      for (const step of r.elses) {
        this.evalDefStep(r, step.value, step.body, env, ctx, firstOnly, what, st);
        if (st.found) return st.out;
      }
      return undefined;
    } finally {
      this.leaveRule(saved);
    }
  }

  private evalDefStep(
    r: Rule,
    value: Expr | null,
    body: Literal[],
    env: Env,
    ctx: Ctx,
    firstOnly: boolean,
    what: string,
    st: DefResult,
  ): void {
    this.runBody(r, body, env, ctx, () =>
      value === null
        ? this.defValue(r, true, firstOnly, what, st)
        : this.evalExpr(value, env, ctx, (v) => this.defValue(r, v, firstOnly, what, st)),
    );
  }

  /** records one solution's value; values from several solutions must agree */
  private defValue(r: Rule, v: Value, firstOnly: boolean, what: string, st: DefResult): boolean {
    if (st.found && !equal(st.out, v)) {
      throw new RegoEvalError(
        what === 'functions' && r.args.length > 0
          ? 'functions must not produce multiple outputs for same inputs'
          : 'complete rules should not produce multiple outputs',
        r.loc,
      );
    }
    st.found = true;
    st.out = v;
    return firstOnly;
  }

  /** The collection limit for the value a set or object rule is building. */
  private checkRuleCollection(r: Rule, kind: 'set' | 'object', size: number): void {
    if (size > this.bctx.maxCollection)
      this.shared.budget.collection(
        size,
        `the ${kind} rule data.${r.module.pkg.concat(r.path).join('.')}`,
        r.loc,
      );
  }

  private evalSetRule(r: Rule, ctx: Ctx, out: RSet): void {
    this.withRule(r, () => {
      const env: Env = new Map();
      this.runBody(r, r.body ?? [], env, ctx, () =>
        this.evalExpr(r.keys[0]!, env, ctx, (v) => {
          out.add(v);
          this.checkRuleCollection(r, 'set', out.size);
          return r.constValue;
        }),
      );
    });
  }

  private evalObjectRule(r: Rule, ctx: Ctx, out: RObject): void {
    this.withRule(r, () => {
      const env: Env = new Map();
      this.runBody(r, r.body ?? [], env, ctx, () =>
        this.evalList(r.keys, 0, [], env, ctx, (keys) =>
          this.evalExpr(r.value!, env, ctx, (v) => {
            if (r.multiValue) {
              const o = objectAt(out, keys, keys.length - 2);
              const sk = keys[keys.length - 2]!;
              let st = o.get(sk);
              if (!(st instanceof RSet)) {
                st = new RSet();
                o.set(sk, st);
              }
              st.add(keys[keys.length - 1]!);
              return r.constValue;
            }
            const o = objectAt(out, keys, keys.length - 1);
            const last = keys[keys.length - 1]!;
            const old = o.get(last);
            if (old !== undefined && !equal(old, v)) {
              throw new RegoEvalError('rules must not produce multiple outputs', r.loc);
            }
            o.set(last, v);
            this.checkRuleCollection(r, 'object', o.size);
            return r.constValue;
          }),
        ),
      );
    });
  }

  callFunction(node: RuleNode, args: Value[], ctx: Ctx): Value | undefined {
    if (this.shared.trace || node.prints) return this.callFunctionUncached(node, args, ctx);
    let m = ctx.fnMemo.get(node);
    if (!m) ctx.fnMemo.set(node, (m = new Map()));
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      let nx = m.get(a) as Map<unknown, unknown> | undefined;
      if (!nx) m.set(a, (nx = new Map()));
      m = nx;
    }
    if (m.has(MEMO)) return m.get(MEMO) as Value | undefined;
    const v = this.callFunctionUncached(node, args, ctx);
    m.set(MEMO, v);
    return v;
  }

  private callFunctionUncached(node: RuleNode, args: Value[], ctx: Ctx): Value | undefined {
    if (this.shared.strict || args.length === 0) return this.callFunctionDefs(node, args, ctx);
    try {
      return this.callFunctionDefs(node, args, ctx);
    } catch (err) {
      // like regorus in non-strict mode: conflicting outputs make the call undefined
      if (err instanceof RegoEvalError && err.message.includes('functions must not produce multiple outputs'))
        return undefined;
      throw err;
    }
  }

  private callFunctionDefs(node: RuleNode, args: Value[], ctx: Ctx): Value | undefined {
    let result: Value | undefined;
    let def: Rule | undefined;
    for (const r of node.funcs) {
      if (r.isDefault) {
        def = r;
        continue;
      }
      if (r.args.length !== args.length) continue;
      const st: { v: Value | undefined } = { v: undefined };
      const savedFile = this.file;
      this.file = r.module.file;
      try {
        this.bindFnArgs(r, args, 0, new Map(), ctx, st);
      } finally {
        this.file = savedFile;
      }
      const v = st.v;
      if (v === undefined) continue;
      if (result !== undefined && !equal(result, v)) {
        throw new RegoEvalError(
          args.length
            ? 'functions must not produce multiple outputs for same inputs'
            : 'rules should not produce multiple outputs',
          r.loc,
        );
      }
      result = v;
    }
    for (const r of node.complete) if (r.isDefault) def = r;
    if (result === undefined && def)
      result = this.withRule(def, () => this.evalOne(def.value!, new Map(), ctx));
    return result;
  }

  /** binds a definition's parameters to the arguments, then evaluates it; st.v collects its value */
  private bindFnArgs(
    r: Rule,
    args: Value[],
    i: number,
    env: Env,
    ctx: Ctx,
    st: { v: Value | undefined },
  ): boolean {
    for (; i < args.length; i++) {
      const pat = r.args[i]!;
      if (pat.t === 'var') {
        // plain parameter (the common case): the env is this definition's own, so no undo needed
        const cur = env.get(pat.name);
        if (cur === undefined) env.set(pat.name, args[i]!);
        else if (!equal(cur, args[i]!)) return false;
        continue;
      }
      const next = i + 1;
      return this.match(pat, args[i]!, env, ctx, () => this.bindFnArgs(r, args, next, env, ctx, st));
    }
    const got = this.evalRuleDef(r, ctx, env, false, 'functions');
    if (got !== undefined) {
      if (st.v !== undefined && !equal(st.v, got)) {
        throw new RegoEvalError('functions must not produce multiple outputs for same inputs', r.loc);
      }
      st.v = got;
    }
    return false;
  }

  // ------------------------------------------------------------------ calls
  private evalCall(e: Extract<Expr, { t: 'call' }>, env: Env, ctx: Ctx, k: KV, statement = false): boolean {
    let site = callSites.get(e);
    if (site === undefined || (site.node !== null && site.root !== this.shared.root))
      site = this.resolveCall(e);
    if (site.print) return this.evalPrint(e, env, ctx, k);
    let mocked: Expr | Value | undefined;
    if (ctx.mocks) mocked = ctx.mocks.get(site.mockKey);
    if (mocked === undefined && site.missing !== null)
      throw evalErr(`could not find function ${site.missing}`, e, this.file);
    // `with f as g` (a function) or `with f as value` takes the call's own arity
    const arity = mocked !== undefined ? e.args.length : site.arity;
    const nargs = e.args.length;
    if (site.walk && nargs === 2) {
      return this.evalExpr(e.args[0]!, env, ctx, (x) => {
        const pairs = this.invoke(e, site, mocked, [x], ctx) as Value[];
        for (const pair of pairs) if (this.match(e.args[1]!, pair, env, ctx, () => k(true))) return true;
        return false;
      });
    }
    if (nargs !== arity && !(nargs === arity + 1 && (statement || site.node !== null))) {
      const plural = arity === 1 ? 'argument' : 'arguments';
      throw evalErr(`\`${e.name}\` expects ${arity} ${plural}`, e, this.file);
    }
    const inArgs = nargs === arity ? e.args : e.args.slice(0, arity);
    return this.evalList(inArgs, 0, [], env, ctx, (vals) => {
      const r = this.invoke(e, site, mocked, vals, ctx);
      if (r === undefined) return false;
      if (nargs === arity + 1) return this.match(e.args[arity]!, r, env, ctx, () => k(true));
      return k(r);
    });
  }

  /**
   * What a call expression invokes, resolved once per call site (function rules again when the rule
   * tree changed). A missing function is an error only when the call is evaluated, as before.
   */
  private resolveCall(e: Extract<Expr, { t: 'call' }>): CallSite {
    const target = e.target ?? { k: 'builtin', name: e.name };
    const root = this.shared.root;
    let site: CallSite;
    if (target.k === 'rule') {
      let node: RuleNode | undefined = root;
      for (const seg of target.path) {
        node = node.children.get(seg);
        if (!node) break;
      }
      const mockKey = 'data.' + target.path.join('.');
      if (!node || !node.funcs.length) {
        // calling a non-function rule or a missing function (unless mocked by `with`)
        site = {
          root,
          node: null,
          fn: null,
          arity: -1,
          mockKey,
          print: false,
          walk: false,
          missing: target.path.join('.'),
        };
      } else {
        site = {
          root,
          node,
          fn: null,
          arity: node.funcs[0]!.args.length,
          mockKey,
          print: false,
          walk: false,
          missing: null,
        };
      }
    } else {
      const b = lookupBuiltin(target.name);
      site = {
        root,
        node: null,
        fn: b ? b.fn : null,
        arity: b ? b.arity : -1,
        mockKey: e.name,
        print: target.name === 'print',
        walk: target.name === 'walk',
        missing: b || target.name === 'print' ? null : target.name,
      };
    }
    if (site.missing === null) callSites.set(e, site);
    return site;
  }

  private invoke(
    e: Extract<Expr, { t: 'call' }>,
    site: CallSite,
    mocked: Expr | Value | undefined,
    args: Value[],
    ctx: Ctx,
  ): Value | undefined {
    if (mocked !== undefined) return this.invokeMock(mocked, args, ctx, e);
    if (site.node) return this.callFunction(site.node, args, ctx);
    if (site.fn === null) return undefined;
    try {
      const out = site.fn(args, this.bctx);
      if (typeof out === 'object' && out !== null) this.chargeResult(out, e);
      return out;
    } catch (err) {
      if (err instanceof BuiltinError) {
        if (this.shared.strict) throw evalErr(err.message, e, this.file);
        return undefined;
      }
      throw this.locateLimit(err, e);
    }
  }

  private invokeMock(m: Expr | Value, args: Value[], ctx: Ctx, at: Expr): Value | undefined {
    if (isExprObj(m)) {
      if (m.t === 'call' || m.t === 'var' || m.t === 'ref') {
        const name = m.t === 'call' ? m.name : exprName(m);
        const target = m.t === 'call' ? m.target : undefined;
        if (target?.k === 'rule' || (m.t === 'ref' && m.head.t === 'data')) {
          const path = target?.k === 'rule' ? target.path : exprName(m)!.split('.').slice(1);
          let node: RuleNode | undefined = this.shared.root;
          for (const seg of path) node = node?.children.get(seg);
          if (node) return this.callFunction(node, args, ctx);
        }
        if (name) {
          const out = this.guard(() => callBuiltin(name, args, this.bctx), at);
          if (typeof out === 'object' && out !== null) this.chargeResult(out, at);
          return out;
        }
      }
      return undefined;
    }
    return m;
  }

  private evalPrint(e: Extract<Expr, { t: 'call' }>, env: Env, ctx: Ctx, k: KV): boolean {
    const parts: string[] = [];
    for (const a of e.args) {
      const vals: Value[] = [];
      this.evalExpr(a, env, ctx, (v) => {
        vals.push(v);
        return false;
      });
      // several values (an argument that iterates) print as the set of them, as OPA does
      parts.push(vals.length <= 1 ? printArg(vals[0]) : printable(RSet.of(vals)));
    }
    const text = parts.join(' ');
    this.shared.prints.push(this.shared.printLocations ? `${this.file}:${e.p.line}: ${text}` : text);
    return k(true);
  }

  // ------------------------------------------------------------------ with
  private withMods(withs: WithMod[], env: Env, ctx: Ctx, k: (c: Ctx) => boolean): boolean {
    let input = ctx.input;
    let data = ctx.data;
    let overrides: Map<string, Value> | null = ctx.overrides ? new Map(ctx.overrides) : null;
    let mocks: Map<string, Expr | Value> | null = ctx.mocks ? new Map(ctx.mocks) : null;
    for (const w of withs) {
      const path = refPath(w.target);
      if (!path) {
        throw evalErr('invalid target for `with`', w, this.file);
      }
      const [root, ...rest] = path;
      if (root === 'input') {
        const v = this.evalOne(w.value, env, ctx);
        if (v === undefined) return false;
        input = setPath(input, rest, v);
        continue;
      }
      if (root === 'data') {
        // a function rule being mocked?
        let node: RuleNode | undefined = this.shared.root;
        for (const seg of rest) node = node?.children.get(seg);
        if (node && node.funcs.length) {
          mocks ??= new Map();
          mocks.set('data.' + rest.join('.'), this.mockValue(w.value, env, ctx));
          continue;
        }
        const v = this.evalOne(w.value, env, ctx);
        if (v === undefined) return false;
        overrides ??= new Map();
        overrides.set(rest.join('\u0000'), v);
        data = setPath(data, rest, v);
        // overriding a path inside a rule/base document: also patch parents via base data
        continue;
      }
      mocks ??= new Map();
      mocks.set(path.join('.'), this.mockValue(w.value, env, ctx));
    }
    const c2 = new Ctx(this.shared, input, data, overrides, mocks);
    return k(c2);
  }

  private mockValue(e: Expr, env: Env, ctx: Ctx): Expr | Value {
    if (e.t === 'var' && env.get(e.name) === undefined) return e;
    if (e.t === 'ref' && e.head.t === 'data') {
      let node: RuleNode | undefined = this.shared.root;
      for (const p of e.path)
        node = p.t === 'scalar' && typeof p.v === 'string' ? node?.children.get(p.v) : undefined;
      if (node && node.funcs.length)
        return {
          t: 'call',
          name: exprName(e)!,
          fn: e,
          args: [],
          p: e.p,
          target: { k: 'rule', path: e.path.map((p) => String((p as { v: Value }).v)) },
        };
    }
    if (e.t === 'ref' && e.head.t === 'var' && env.get(e.head.name) === undefined) return e;
    const v = this.evalOne(e, env, ctx);
    return v === undefined ? null : v;
  }
}

function shapeOf(e: Expr): 'array' | 'object' | null {
  if (e.t === 'array') return 'array';
  if (e.t === 'object') return 'object';
  if (e.t === 'scalar') return Array.isArray(e.v) ? 'array' : e.v instanceof RObject ? 'object' : null;
  return null;
}

function isExprObj(m: Expr | Value): m is Expr {
  return (
    typeof m === 'object' &&
    m !== null &&
    !Array.isArray(m) &&
    !(m instanceof RObject) &&
    !(m instanceof RSet) &&
    't' in m
  );
}

function exprName(e: Expr): string | null {
  if (e.t === 'var') return e.name;
  if (e.t === 'data') return 'data';
  if (e.t === 'input') return 'input';
  if (e.t === 'ref') {
    const h = exprName(e.head);
    if (!h) return null;
    const parts = [h];
    for (const p of e.path) {
      if (p.t !== 'scalar' || typeof p.v !== 'string') return null;
      parts.push(p.v);
    }
    return parts.join('.');
  }
  return null;
}

function refPath(e: Expr): string[] | null {
  if (e.t === 'var') return [e.name];
  if (e.t === 'data') return ['data'];
  if (e.t === 'input') return ['input'];
  if (e.t === 'ref') {
    const h = refPath(e.head);
    if (!h) return null;
    const out = [...h];
    for (const p of e.path) {
      if (p.t !== 'scalar' || typeof p.v !== 'string') return null;
      out.push(p.v);
    }
    return out;
  }
  return null;
}

function setPath(root: Value | undefined, path: string[], v: Value): Value {
  if (path.length === 0) return v;
  const o = root instanceof RObject ? root.clone() : new RObject();
  const [first, ...rest] = path;
  o.set(first!, setPath(o.getStr(first!), rest, v));
  return o;
}

export function index(cur: Value, key: Value): Value | undefined {
  if (cur instanceof RObject) return cur.get(key);
  if (Array.isArray(cur)) {
    if (typeof key === 'number' && Number.isInteger(key)) return cur[key];
    return undefined;
  }
  if (cur instanceof RSet) return cur.has(key) ? key : undefined;
  return undefined;
}

function patternVars(e: Expr): string[] {
  const out: string[] = [];
  walkPattern(e, out);
  return out;
}

function walkPattern(e: Expr, out: string[]): void {
  if (e.t === 'var') out.push(e.name);
  else if (e.t === 'array' || e.t === 'set') e.items.forEach((x) => walkPattern(x, out));
  else if (e.t === 'object') e.entries.forEach(([, v]) => walkPattern(v, out));
}

function walkExpr(e: Expr, f: (x: Expr) => void): void {
  f(e);
  switch (e.t) {
    case 'ref':
      walkExpr(e.head, f);
      e.path.forEach((x) => walkExpr(x, f));
      return;
    case 'array':
    case 'set':
      e.items.forEach((x) => walkExpr(x, f));
      return;
    case 'object':
      e.entries.forEach(([a, b]) => {
        walkExpr(a, f);
        walkExpr(b, f);
      });
      return;
    case 'call':
      e.args.forEach((x) => walkExpr(x, f));
      return;
    case 'bin':
    case 'unify':
    case 'assign':
      walkExpr(e.l, f);
      walkExpr(e.r, f);
      return;
    case 'neg':
      walkExpr(e.e, f);
      return;
    case 'in':
      if (e.key) walkExpr(e.key, f);
      walkExpr(e.value, f);
      walkExpr(e.coll, f);
      return;
    default:
      return;
  }
}

/** The object at `keys[0..n)` below `root`, creating (or replacing non-objects with) empty objects on the way. */
function objectAt(root: RObject, keys: Value[], n: number): RObject {
  let o = root;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    let next = o.get(k);
    if (!(next instanceof RObject)) {
      next = new RObject();
      o.set(k, next);
    }
    o = next;
  }
  return o;
}
