// Public API of the Rego engine: load policies and data, set input, evaluate rules and queries.
import type { Literal, Module, RuleNode } from './ast.js';
import { buildTree, moduleScope, Resolver, scheduleBody, setBuiltinArityLookup } from './compile.js';
import { builtinArity } from './builtins/index.js';
import { RegoEvalError, RegoLimitError } from './errors.js';
import { Ctx, Evaluator, type EvalShared, type TraceEntry } from './eval.js';
import { Budget, resolveLimits, type EvalLimits, type ResolvedLimits } from './limits.js';
import { Parser } from './parser.js';
import { fromJSON, RObject, toJSON, type Value } from './value.js';

// the scheduler needs builtin arities to recognise old-style output arguments (`count(x, n)`)
setBuiltinArityLookup(builtinArity);

export { RegoEvalError, RegoLimitError, RegoParseError } from './errors.js';
export { DEFAULT_LIMITS, type EvalLimits } from './limits.js';
export { TRACE_UNDEFINED, type TraceEntry } from './eval.js';
export { toJSON, fromJSON, stringifyValue, jsonStringify, type Value } from './value.js';
// The syntax tree, for tools that read policies (explanations): parse only, no compilation.
export { parseModule, parseQuery } from './parser.js';
export type { Expr, Literal, Module, Pos, Rule } from './ast.js';

export interface EngineOptions {
  /** builtin errors abort evaluation (default false: they make the expression undefined, as in the Kata agent) */
  strictBuiltinErrors?: boolean;
  /** parse every module as Rego v1 */
  regoV1?: boolean;
  /**
   * prefix every print line with `file:line: ` of the print call, as regorus does when it gathers
   * prints (the agent's logs carry them so); default false: the printed text alone
   */
  printLocations?: boolean;
  /** resource limits of every query and document (limits.ts; defaults in DEFAULT_LIMITS) */
  limits?: EvalLimits;
}

/** One query solution: variable bindings and the value of each query expression (JSON). */
export type QueryResult = { bindings: Record<string, unknown>; expressions: unknown[] };

export class Engine {
  private readonly modules = new Map<string, Module>();
  /** per module: the package names it was resolved against (re-resolve from source when they change) */
  private readonly resolvedKey = new Map<string, string>();
  private data: Value = new RObject();
  private input: Value | undefined;
  private root: RuleNode | null = null;
  private prints: string[] = [];
  private traceOn = false;
  private trace: TraceEntry[] = [];

  private readonly limits: ResolvedLimits;

  constructor(private readonly options: EngineOptions = {}) {
    this.limits = resolveLimits(options.limits);
  }

  /** Parse and add (or replace) a module. Throws RegoParseError with file:line:col. */
  addPolicy(path: string, text: string): void {
    const opts = this.options.regoV1 ? { regoV1: true } : {};
    const mod = stackGuard(`${path}: the policy`, () => new Parser(path, text, opts).parseModule());
    const previous = this.modules.get(path);
    this.modules.set(path, mod);
    this.resolvedKey.delete(path);
    this.root = null;
    try {
      stackGuard(`${path}: the policy`, () => this.compile());
    } catch (err) {
      // keep the engine usable with the modules it had
      if (previous) this.modules.set(path, previous);
      else this.modules.delete(path);
      // every remaining module was resolved before (possibly against the failed set of names):
      // force a re-resolution from source
      for (const k of this.modules.keys()) this.resolvedKey.set(k, '\u0001stale');
      this.root = null;
      throw err;
    }
  }

  setData(data: unknown): void {
    this.data = document('data', () => fromJSON(data ?? {}, this.limits.maxNesting));
    if (!(this.data instanceof RObject)) throw new RegoEvalError('data must be a JSON object');
  }

  /** Deep-merge a JSON object into the data document. */
  addData(data: unknown): void {
    const v = document('data', () => fromJSON(data, this.limits.maxNesting));
    if (!(v instanceof RObject)) throw new RegoEvalError('data must be a JSON object');
    this.data = mergeObjects(this.data as RObject, v);
  }

  getData(): unknown {
    return toJSON(this.data);
  }

  setInput(input: unknown): void {
    this.input =
      input === undefined ? undefined : document('input', () => fromJSON(input, this.limits.maxNesting));
  }

  /** Set the input as an already converted Rego value (sets allowed). */
  setInputValue(input: Value | undefined): void {
    this.input = input;
  }

  /** Evaluate `data.x.y` (a ref, may contain brackets); undefined when the value is undefined. */
  evalRule(path: string): unknown | undefined {
    const results = this.runQuery(path);
    const first = results[0];
    if (!first) return undefined;
    const v = first.values[first.values.length - 1];
    return v === undefined ? undefined : toJSON(v);
  }

  /**
   * Evaluate a query (literals separated by `;` or newlines). Returns one entry per solution with
   * the bindings of the query's named variables and the value of each expression. A single
   * expression query that evaluates to `false` yields one result with expressions [false]; with
   * several expressions, false ones fail the query (as regorus does).
   */
  evalQuery(query: string): QueryResult[] {
    return this.runQuery(query).map((r) => ({
      bindings: Object.fromEntries(Object.entries(r.bindings).map(([k, v]) => [k, toJSON(v)])),
      expressions: r.values.map((v) => toJSON(v)),
    }));
  }

  /** Raw results with Rego values (sets stay sets): used by the conformance test. */
  evalQueryValues(query: string): { bindings: Record<string, Value>; values: Value[] }[] {
    return this.runQuery(query);
  }

  takePrints(): string[] {
    const p = this.prints;
    this.prints = [];
    return p;
  }

  enableTrace(on: boolean): void {
    this.traceOn = on;
  }

  takeTrace(): TraceEntry[] {
    const t = this.trace;
    this.trace = [];
    return t;
  }

  private compile(): RuleNode {
    if (this.root) return this.root;
    const mods = [...this.modules.values()];
    // rule names per package (a name is visible in every module of its package)
    const pkgNames = new Map<string, Set<string>>();
    for (const m of mods) {
      const key = m.pkg.join('.');
      let s = pkgNames.get(key);
      if (!s) pkgNames.set(key, (s = new Set()));
      for (const r of m.rules) s.add(r.path[0]!);
    }
    const opts = this.options.regoV1 ? { regoV1: true } : {};
    for (const [path, m0] of this.modules) {
      const names = pkgNames.get(m0.pkg.join('.'))!;
      const key = [...names].sort().join('\u0000');
      const done = this.resolvedKey.get(path);
      if (done === key) continue;
      // resolution rewrites the rules in place: start again from the source when names changed
      const m = done === undefined ? m0 : new Parser(m0.file, m0.src, opts).parseModule();
      this.modules.set(path, m);
      const resolver = new Resolver(moduleScope(m, names));
      for (const r of m.rules) resolver.resolveRule(r);
      this.resolvedKey.set(path, key);
    }
    this.root = buildTree([...this.modules.values()]);
    return this.root;
  }

  /** parsed queries: they do not depend on the modules (names in queries are data/input refs or locals) */
  private readonly queries = new Map<string, Literal[]>();

  private compileQuery(query: string): Literal[] {
    const hit = this.queries.get(query);
    if (hit) return hit;
    const parsed = new Parser('<query>', query, { regoV1: true }).parseQuery();
    const qmod: Module = { file: '<query>', src: query, pkg: [], imports: [], rules: [], v1: true };
    const resolver = new Resolver(moduleScope(qmod, new Set()));
    const lits = scheduleBody(
      resolver.body(parsed, { declared: new Set(), seen: new Set(), parent: null }, '<query>'),
      new Set(),
    );
    if (this.queries.size > 200) this.queries.clear();
    this.queries.set(query, lits);
    return lits;
  }

  private runQuery(query: string): { bindings: Record<string, Value>; values: Value[] }[] {
    const root = this.compile();
    const lits = this.compileQuery(query);
    const shared: EvalShared = {
      root,
      strict: this.options.strictBuiltinErrors ?? false,
      nowNs: BigInt(Date.now()) * 1000000n,
      prints: this.prints,
      printLocations: this.options.printLocations ?? false,
      trace: this.traceOn ? this.trace : null,
      depth: 0,
      budget: new Budget(this.limits),
    };
    const ev = new Evaluator(shared);
    const ctx = new Ctx(shared, this.input, this.data, null, null);
    const env = new Map<string, Value>();
    const names = new Set<string>();
    for (const l of lits) collectVars(l, names);
    const out: { bindings: Record<string, Value>; values: Value[] }[] = [];
    const single = lits.length === 1 && lits[0]!.t === 'expr' && !lits[0]!.neg;
    const values: Value[] = [];
    const step = (i: number): boolean => {
      if (i === lits.length) {
        const b: Record<string, Value> = {};
        for (const n of names) {
          const v = env.get(n);
          if (v !== undefined) b[n] = v;
        }
        out.push({ bindings: b, values: values.slice() });
        return false;
      }
      const lit = lits[i]!;
      if (lit.t === 'expr' && !lit.neg && lit.e.t !== 'unify' && lit.e.t !== 'assign') {
        return ev.evalExprWith(lit.e, lit.withs, env, ctx, (v) => {
          if (v === false && !single) return false;
          values[i] = v;
          const r = step(i + 1);
          values.length = i;
          return r;
        });
      }
      return ev.evalBody([lit], 0, env, ctx, () => {
        values[i] = true;
        const r = step(i + 1);
        values.length = i;
        return r;
      });
    };
    stackGuard('evaluation', () => step(0));
    return out;
  }
}

function collectVars(l: Literal, names: Set<string>): void {
  const visit = (e: unknown): void => {
    if (!e || typeof e !== 'object') return;
    const x = e as { t?: string; name?: string };
    if (x.t === 'var' && x.name && !x.name.startsWith('_$')) names.add(x.name);
    if (x.t === 'arraycompr' || x.t === 'setcompr' || x.t === 'objcompr' || x.t === 'every') return;
    for (const v of Object.values(e)) if (v && typeof v === 'object') visit(v);
  };
  if (l.t === 'some') l.vars.forEach((v) => names.add(v));
  else visit(l);
}

function mergeObjects(a: RObject, b: RObject): RObject {
  const out = a.clone();
  for (const [k, v] of b.m.values()) {
    const old = out.get(k);
    out.set(k, old instanceof RObject && v instanceof RObject ? mergeObjects(old, v) : v);
  }
  return out;
}

/**
 * Last line of defence for what the limits do not bound (a policy with thousands of literals in one
 * body, an expression nested thousands deep): V8's stack overflow and its string/array length limits
 * are RangeErrors that we turn into clean errors instead of stack traces.
 */
function stackGuard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) {
      if (/call stack/i.test(err.message))
        throw new RegoLimitError(`${what} is nested too deeply for the JavaScript stack`);
      throw new RegoLimitError(`${what}: a value grew beyond what JavaScript can hold (${err.message})`);
    }
    throw err;
  }
}

/** converts an input or data document, naming it in a nesting error */
function document<T>(what: string, fn: () => T): T {
  try {
    return stackGuard(what, fn);
  } catch (err) {
    if (err instanceof RegoLimitError)
      throw new RegoLimitError(`${what}: ${err.message.replace(/^error: /, '')}`);
    throw err;
  }
}
