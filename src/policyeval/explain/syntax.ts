// What an explanation needs to know about Rego text (a failed expression, an `every`, the policy's
// rule heads), read from src/rego's syntax tree: comments, string literals, multi-line heads, ref
// heads and nested braces are what the parser already handles and what text matching got wrong.
// Every function answers undefined (or nothing) for text that does not parse: the explanation then
// leaves that part out rather than guess.
import { parseModule, parseQuery, type Expr, type Literal, type Module } from '../../rego/index.js';

type Node = { t: string } & Record<string, unknown>;

/** Visits every syntax node under `node` (expressions, literals, `with` modifiers), outer first. */
function walk(node: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as Record<string, unknown>;
  if (typeof n['t'] === 'string') visit(n as Node);
  for (const [k, v] of Object.entries(n)) {
    if (k === 'p' || k === 'v') continue; // positions and scalar values hold no nodes
    walk(v, visit);
  }
}

/** The literals of a body or query text. */
export function parseLiterals(text: string): Literal[] | undefined {
  try {
    return parseQuery('<explain>', text);
  } catch {
    return undefined;
  }
}

const modules = new Map<string, Module | null>();

/** The policy's syntax tree (the last few policies are kept: explain asks for it per failure). */
export function policyModule(file: string, text: string): Module | undefined {
  const key = `${file}\u0000${text}`;
  let m = modules.get(key);
  if (m === undefined) {
    try {
      m = parseModule(file, text);
    } catch {
      m = null;
    }
    if (modules.size > 4) modules.clear();
    modules.set(key, m);
  }
  return m ?? undefined;
}

/** Names of the rules and functions the module defines at package level (first head segment). */
export function packageRules(module: Module | undefined): Set<string> {
  return new Set(module?.rules.map((r) => r.path[0]!).filter((n) => n !== undefined) ?? []);
}

/** A parameter name, or undefined for `_` and patterns (`[a, b]`, constants). */
function paramName(e: Expr): string | undefined {
  return e.t === 'var' && !isWildcard(e.name) ? e.name : undefined;
}

function isWildcard(name: string): boolean {
  return name === '_' || name.startsWith('_$');
}

/**
 * Parameters of the definition of function `name` that starts nearest above `line` (the line of
 * an expression inside its body); undefined when the module defines no such function there.
 */
export function functionParams(
  module: Module | undefined,
  name: string,
  line: number,
): Array<string | undefined> | undefined {
  let best: { line: number; args: Expr[] } | undefined;
  for (const r of module?.rules ?? []) {
    if (r.kind !== 'function' || r.path.join('.') !== name || r.p.line > line) continue;
    if (!best || r.p.line >= best.line) best = { line: r.p.line, args: r.args };
  }
  return best?.args.map(paramName);
}

/** Source text of the arguments of the first call of `name` in `text` (not `other.name(...)`). */
export function callArguments(text: string, name: string): string[] | undefined {
  const lits = parseLiterals(text);
  let args: string[] | undefined;
  walk(lits, (n) => {
    const e = n as unknown as Expr;
    if (args === undefined && e.t === 'call' && e.name === name) {
      args = e.args.map((a) => text.slice(a.p.start, a.p.end));
    }
  });
  return args;
}

/** Variable nodes that name a function being called (`f` of `f(x)`, `regex` of `regex.match(x)`). */
function calledNames(lits: unknown): Set<Expr> {
  const out = new Set<Expr>();
  walk(lits, (n) => {
    const e = n as unknown as Expr;
    if (e.t !== 'call') return;
    out.add(e.fn);
    if (e.fn.t === 'ref') out.add(e.fn.head);
  });
  return out;
}

/** Variables a body declares: `some`, `some … in`, `every` variables, left sides of `:=` and `=`. */
function declaredNames(lits: unknown): Set<string> {
  const out = new Set<string>();
  const varsIn = (e: unknown) =>
    walk(e, (n) => {
      if (n.t === 'var') out.add((n as unknown as { name: string }).name);
    });
  walk(lits, (n) => {
    const x = n as unknown as Literal | Expr;
    if (x.t === 'some') for (const v of x.vars) out.add(v);
    else if (x.t === 'somein' || x.t === 'every') {
      varsIn(x.key);
      varsIn(x.value);
    } else if (x.t === 'assign' || x.t === 'unify') varsIn(x.l);
  });
  return out;
}

/**
 * Names `text` reads that nothing binds: not in `known`, not declared in the text itself, not a
 * package rule, not a called function or builtin. Undefined when the text does not parse.
 */
export function unknownNames(text: string, known: Set<string>, rules: Set<string>): string[] | undefined {
  const lits = parseLiterals(text);
  if (!lits) return undefined;
  const declared = declaredNames(lits);
  const called = calledNames(lits);
  const out = new Set<string>();
  walk(lits, (n) => {
    if (n.t !== 'var' || called.has(n as unknown as Expr)) return;
    const name = (n as unknown as { name: string }).name;
    if (isWildcard(name) || known.has(name) || declared.has(name) || rules.has(name)) return;
    out.add(name);
  });
  return [...out];
}

export interface EveryParts {
  key?: string;
  value: string;
  /** Source of the domain expression. */
  domain: string;
  /** Source of the body, from its first to its last literal (comments between them kept). */
  body: string;
}

/** The parts of an `every` literal, when `text` is exactly one with plain variables. */
export function everyParts(text: string): EveryParts | undefined {
  const lits = parseLiterals(text);
  const e = lits?.length === 1 ? lits[0] : undefined;
  if (!e || e.t !== 'every' || e.body.length === 0 || e.withs.length > 0) return undefined;
  const value = paramName(e.value);
  const key = e.key ? paramName(e.key) : undefined;
  if (value === undefined || (e.key && key === undefined)) return undefined;
  const first = e.body[0]!;
  const last = e.body[e.body.length - 1]!;
  return {
    ...(key !== undefined ? { key } : {}),
    value,
    domain: text.slice(e.coll.p.start, e.coll.p.end),
    body: text.slice(first.p.start, last.p.end),
  };
}

/**
 * Source text of the refs `text` reads (`input.process.Args`, `s.containers[input.container_id]`,
 * and the refs inside brackets), outer first; refs that name a called function are left out.
 */
export function refsRead(text: string): string[] {
  const lits = parseLiterals(text);
  const called = calledNames(lits);
  const out: string[] = [];
  walk(lits, (n) => {
    const e = n as unknown as Expr;
    if (e.t !== 'ref' || called.has(e)) return;
    if (e.head.t !== 'var' && e.head.t !== 'input' && e.head.t !== 'data') return;
    const ref = text.slice(e.p.start, e.p.end);
    if (!out.includes(ref)) out.push(ref);
  });
  return out;
}

/** Every name `text` mentions as a variable, rule or called function (first segment of refs). */
export function namesUsed(text: string): Set<string> | undefined {
  const lits = parseLiterals(text);
  if (!lits) return undefined;
  const out = new Set<string>();
  walk(lits, (n) => {
    const e = n as unknown as Expr;
    if (e.t === 'var') out.add(e.name);
    else if (e.t === 'call') out.add(e.name.split('.').pop()!);
  });
  return out;
}

/**
 * `ref` as a query the engine can evaluate outside the body it came from: its root and the
 * variables in its brackets are replaced by `bound(name)` when bound, a root that is neither bound
 * nor `input`/`data` becomes a rule of `packagePath`. Undefined when `ref` is not a ref or variable.
 */
export function standaloneRef(
  ref: string,
  isBound: (name: string) => boolean,
  bound: (name: string) => string,
  packagePath: string,
): string | undefined {
  const lits = parseLiterals(ref);
  const lit = lits?.length === 1 ? lits[0] : undefined;
  if (!lit || lit.t !== 'expr' || lit.neg || lit.withs.length > 0) return undefined;
  const e = lit.e;
  const head = e.t === 'ref' ? e.head : e;
  if (head.t !== 'var' && head.t !== 'input' && head.t !== 'data') return undefined;
  const edits: Array<{ start: number; end: number; text: string }> = [];
  if (head.t === 'var') {
    const text = isBound(head.name) ? bound(head.name) : `${packagePath}.${head.name}`;
    edits.push({ start: head.p.start, end: head.p.end, text });
  }
  if (e.t === 'ref') {
    walk(e.path, (n) => {
      const v = n as unknown as Expr;
      if (v.t === 'var' && isBound(v.name))
        edits.push({ start: v.p.start, end: v.p.end, text: bound(v.name) });
    });
  }
  let out = ref;
  for (const x of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, x.start) + x.text + out.slice(x.end);
  return out;
}
