// Compilation: builds the tree of rules under `data`, resolves names in rule bodies (local variable,
// rule of the package, import, builtin) and checks declarations.
import { checkRecursion } from './recursion.js';
import type { Expr, Literal, Module, Rule, RuleNode } from './ast.js';
import { RegoParseError } from './errors.js';
import { RObject, RSet, type Value } from './value.js';

function newNode(name: string, path: string[]): RuleNode {
  return { name, path, children: new Map(), complete: [], sets: [], objects: [], funcs: [], hasRules: false };
}

function nodeAt(root: RuleNode, path: string[], create: boolean): RuleNode | undefined {
  let n = root;
  for (const seg of path) {
    let c = n.children.get(seg);
    if (!c) {
      if (!create) return undefined;
      c = newNode(seg, [...n.path, seg]);
      n.children.set(seg, c);
    }
    n = c;
  }
  return n;
}

export function buildTree(modules: Module[]): RuleNode {
  const root = newNode('data', []);
  for (const m of modules) {
    let pn: RuleNode | undefined = root;
    pn.hasRules = true;
    for (const seg of m.pkg) {
      pn = nodeAt(pn, [seg], true)!;
      pn.hasRules = true;
    }
    for (const r of m.rules) {
      const n = nodeAt(root, [...m.pkg, ...r.path], true)!;
      switch (r.kind) {
        case 'complete':
          n.complete.push(r);
          break;
        case 'set':
          n.sets.push(r);
          break;
        case 'object':
          n.objects.push(r);
          break;
        case 'function':
          n.funcs.push(r);
          break;
      }
      let x: RuleNode | undefined = root;
      x.hasRules = true;
      for (const seg of [...m.pkg, ...r.path]) {
        x = x.children.get(seg);
        if (!x) break;
        x.hasRules = true;
      }
    }
  }
  for (const m of modules) for (const r of m.rules) checkConflicts(root, m, r);
  checkRecursion(root);
  markPrintingFunctions(root);
  return root;
}

/** flag functions that call print(), directly or through other functions, so results stay unmemoized */
function markPrintingFunctions(root: RuleNode): void {
  const funcs: RuleNode[] = [];
  const walkNodes = (n: RuleNode): void => {
    if (n.funcs.length) funcs.push(n);
    n.children.forEach(walkNodes);
  };
  walkNodes(root);
  const callees = new Map<RuleNode, string[][]>();
  for (const n of funcs) {
    const paths: string[][] = [];
    let direct = false;
    const visit = (x: unknown): void => {
      if (!x || typeof x !== 'object') return;
      if (Array.isArray(x)) return x.forEach(visit);
      const o = x as { t?: string; name?: string; target?: { k: string; path?: string[]; name?: string } };
      if (o.t === 'scalar') return;
      if (o.t === 'call') {
        if (o.target?.k === 'builtin' && o.target.name === 'print') direct = true;
        if (o.target?.k === 'rule' && o.target.path) paths.push(o.target.path);
      }
      for (const [k, v] of Object.entries(o))
        if (k !== 'p' && k !== 'module' && k !== 'target' && v && typeof v === 'object') visit(v);
    };
    for (const r of n.funcs) visit([r.body, r.elses, r.value, r.args]);
    if (direct) n.prints = true;
    callees.set(n, paths);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const n of funcs) {
      if (n.prints) continue;
      for (const p of callees.get(n)!) {
        const c = nodeAt(root, p, false);
        if (c?.prints) {
          n.prints = true;
          changed = true;
          break;
        }
      }
    }
  }
}

function checkConflicts(root: RuleNode, m: Module, r: Rule): void {
  const n = nodeAt(root, [...m.pkg, ...r.path], false)!;
  const kinds = [n.complete.length > 0, n.sets.length > 0, n.objects.length > 0, n.funcs.length > 0].filter(
    Boolean,
  );
  if (kinds.length > 1) {
    if (n.funcs.length > 0 && n.complete.some((x) => x.isDefault) && n.complete.every((x) => x.isDefault))
      return;
    throw new RegoParseError('rule conflicts with the following rule', r.loc);
  }
  if (n.funcs.length > 0) {
    const arity = n.funcs[0]!.args.length;
    if (n.funcs.some((f) => f.args.length !== arity)) {
      throw new RegoParseError(
        'function has conflicting arities: rule conflicts with the following rule',
        r.loc,
      );
    }
  }
  if (r.kind === 'complete' && r.path.length > 1 && !r.isDefault && r.body && r.body.length === 0) {
    for (const o of n.complete) {
      if (
        o !== r &&
        !o.isDefault &&
        o.body &&
        o.body.length === 0 &&
        o.value &&
        r.value &&
        o.value.t === 'scalar' &&
        r.value.t === 'scalar' &&
        o.value.v !== r.value.v
      ) {
        throw new RegoParseError('rule conflicts with the following rule', r.loc);
      }
      if (
        o !== r &&
        !o.isDefault &&
        o.body?.length === 0 &&
        o.value?.t === 'object' &&
        r.value?.t === 'object'
      ) {
        throw new RegoParseError('rule conflicts with the following rule', r.loc);
      }
    }
  }
  if (n.complete.filter((x) => x.isDefault).length > 1) {
    throw new RegoParseError('multiple default rules: rule conflicts with the following rule', r.loc);
  }
}

/** names visible at package level in a module: rule names and import aliases */
export interface ModuleScope {
  module: Module;
  ruleNames: Set<string>;
  imports: Map<string, { root: 'data' | 'input'; path: string[] }>;
}

export function moduleScope(m: Module, pkgRuleNames: Set<string>): ModuleScope {
  const imports = new Map<string, { root: 'data' | 'input'; path: string[] }>();
  for (const im of m.imports) imports.set(im.alias, { root: im.root, path: im.path });
  return { module: m, ruleNames: pkgRuleNames, imports };
}

/** Resolved global reference for a var name, or null when it is a local variable. */
function globalFor(scope: ModuleScope, name: string, p: Expr['p']): Expr | null {
  if (scope.ruleNames.has(name)) {
    return {
      t: 'ref',
      head: { t: 'data', p },
      path: [...scope.module.pkg, name].map((s) => ({ t: 'scalar', v: s, p })),
      p,
    };
  }
  const im = scope.imports.get(name);
  if (im) {
    const head: Expr = im.root === 'data' ? { t: 'data', p } : { t: 'input', p };
    if (im.path.length === 0) return head;
    return { t: 'ref', head, path: im.path.map((s) => ({ t: 'scalar', v: s, p })), p };
  }
  return null;
}

type Scope = { declared: Set<string>; seen: Set<string>; parent: Scope | null };

/**
 * Rewrites var nodes that name rules/imports into refs (in place, by returning new trees) and checks
 * that declarations (`:=`, `some`) do not redeclare variables already used in the same body.
 */
export class Resolver {
  constructor(private readonly scope: ModuleScope) {}

  resolveRule(r: Rule): void {
    const s: Scope = { declared: new Set(), seen: new Set(), parent: null };
    const file = r.module.file;
    if (r.kind === 'function') {
      for (const a of r.args)
        for (const v of varsOf(a)) {
          s.declared.add(v);
          s.seen.add(v);
        }
    }
    const argVars = new Set(s.declared);
    // Each `else` is a body of its own (OPA compiles it as a separate rule sharing the head's
    // arguments; regorus evaluates every body in a fresh scope), so it starts from the arguments
    // alone: `f(x) := y if { y := 1 } else := y if { y := 2 }` declares `y` once per body.
    const argSeen = new Set(s.seen);
    if (r.body) r.body = scheduleBody(this.body(r.body, s, file), argVars);
    for (const e of r.elses) {
      const es: Scope = { declared: new Set(argVars), seen: new Set(argSeen), parent: null };
      e.body = scheduleBody(this.body(e.body, es, file), argVars);
      // an else value sees its own body's variables, not the first body's
      if (e.value) e.value = this.expr(e.value, es, file);
    }
    // head terms see the body's variables
    r.keys = r.keys.map((k) => this.expr(k, s, file));
    if (r.value) r.value = this.expr(r.value, s, file);
    r.args = r.args.map((a) => this.expr(a, s, file));
    r.constValue =
      r.elses.length === 0 &&
      ((r.kind === 'complete' && isConst(r.value)) ||
        (r.kind === 'set' && r.keys.every(isConst)) ||
        (r.kind === 'object' && r.keys.every(isConst) && isConst(r.value)));
  }

  body(lits: Literal[], s: Scope, file: string): Literal[] {
    return lits.map((l) => this.literal(l, s, file));
  }

  private isLocal(name: string, s: Scope | null): boolean {
    for (let x = s; x; x = x.parent) if (x.declared.has(name)) return true;
    return false;
  }

  private declare(names: string[], s: Scope, file: string, p: Expr['p']): void {
    for (const n of names) {
      if (n.startsWith('_$')) continue;
      if (s.seen.has(n)) {
        throw new RegoParseError(`var \`${n}\` used before definition below`, {
          file,
          line: p.line,
          col: p.col,
        });
      }
      s.declared.add(n);
      s.seen.add(n);
    }
  }

  literal(l: Literal, s: Scope, file: string): Literal {
    switch (l.t) {
      case 'some':
        this.declare(l.vars, s, file, l.p);
        return l;
      case 'somein': {
        const coll = this.expr(l.coll, s, file);
        const names = [...(l.key ? varsOf(l.key) : []), ...varsOf(l.value)];
        this.declare(names, s, file, l.p);
        return {
          ...l,
          coll,
          key: l.key ? this.expr(l.key, s, file) : null,
          value: this.expr(l.value, s, file),
          withs: l.withs.map((w) => ({
            ...w,
            target: this.withTarget(w.target, s, file),
            value: this.expr(w.value, s, file),
          })),
        };
      }
      case 'every': {
        const coll = this.expr(l.coll, s, file);
        const inner: Scope = { declared: new Set(), seen: new Set(), parent: s };
        const names = [...(l.key ? varsOf(l.key) : []), ...varsOf(l.value)];
        for (const n of names) inner.declared.add(n);
        return {
          ...l,
          coll,
          key: l.key ? this.expr(l.key, inner, file) : null,
          value: this.expr(l.value, inner, file),
          body: this.body(l.body, inner, file),
          withs: l.withs.map((w) => ({
            ...w,
            target: this.withTarget(w.target, s, file),
            value: this.expr(w.value, s, file),
          })),
        };
      }
      case 'expr': {
        let e = l.e;
        if (e.t === 'assign') {
          const r = this.expr(e.r, s, file);
          this.declare(varsOf(e.l), s, file, e.p);
          e = { ...e, l: this.expr(e.l, s, file), r };
        } else e = this.expr(e, s, file);
        return {
          ...l,
          e,
          withs: l.withs.map((w) => ({
            ...w,
            target: this.withTarget(w.target, s, file),
            value: this.expr(w.value, s, file),
          })),
        };
      }
    }
  }

  expr(e: Expr, s: Scope, file: string): Expr {
    switch (e.t) {
      case 'var': {
        if (this.isLocal(e.name, s)) return e;
        const g = e.name.startsWith('_$') ? null : globalFor(this.scope, e.name, e.p);
        if (g) return g;
        s.seen.add(e.name);
        return e;
      }
      case 'input':
      case 'data':
        return this.isLocal(e.t, s) ? { t: 'var', name: e.t, p: e.p } : e;
      case 'scalar':
        return e;
      case 'ref': {
        const head = this.expr(e.head, s, file);
        const path = e.path.map((x) => this.expr(x, s, file));
        if (head.t === 'ref') return { t: 'ref', head: head.head, path: [...head.path, ...path], p: e.p };
        return { ...e, head, path };
      }
      case 'array':
        return foldConst({ ...e, items: e.items.map((x) => this.expr(x, s, file)) });
      case 'set':
        return foldConst({ ...e, items: e.items.map((x) => this.expr(x, s, file)) });
      case 'object':
        return foldConst({
          ...e,
          entries: e.entries.map(([k, v]) => [this.expr(k, s, file), this.expr(v, s, file)] as [Expr, Expr]),
        });
      case 'arraycompr':
      case 'setcompr': {
        const inner: Scope = { declared: new Set(), seen: new Set(), parent: s };
        const body = this.body(e.body, inner, file);
        return { ...e, body, term: this.expr(e.term, inner, file) };
      }
      case 'objcompr': {
        const inner: Scope = { declared: new Set(), seen: new Set(), parent: s };
        const body = this.body(e.body, inner, file);
        return { ...e, body, key: this.expr(e.key, inner, file), value: this.expr(e.value, inner, file) };
      }
      case 'call':
        return { ...e, args: e.args.map((a) => this.expr(a, s, file)), target: this.callTarget(e.name, s) };
      case 'bin':
        return { ...e, l: this.expr(e.l, s, file), r: this.expr(e.r, s, file) };
      case 'neg':
        return { ...e, e: this.expr(e.e, s, file) };
      case 'in':
        return {
          ...e,
          key: e.key ? this.expr(e.key, s, file) : null,
          value: this.expr(e.value, s, file),
          coll: this.expr(e.coll, s, file),
        };
      case 'unify':
      case 'assign':
        return { ...e, l: this.expr(e.l, s, file), r: this.expr(e.r, s, file) };
    }
  }

  private withTarget(e: Expr, s: Scope, file: string): Expr {
    const head = e.t === 'ref' ? e.head : e;
    if (head.t === 'var' && !this.scope.imports.has(head.name) && !this.scope.ruleNames.has(head.name))
      return e;
    return this.expr(e, s, file);
  }

  private callTarget(name: string, s: Scope): NonNullable<Extract<Expr, { t: 'call' }>['target']> {
    const parts = name.split('.');
    const first = parts[0]!;
    if (first === 'data') return { k: 'rule', path: parts.slice(1) };
    if (!this.isLocal(first, s)) {
      const im = this.scope.imports.get(first);
      if (im && im.root === 'data') return { k: 'rule', path: [...im.path, ...parts.slice(1)] };
      if (this.scope.ruleNames.has(first)) return { k: 'rule', path: [...this.scope.module.pkg, ...parts] };
    }
    return { k: 'builtin', name };
  }
}

/** composite literals made only of constants become one precomputed value (values are immutable) */
function foldConst(e: Expr): Expr {
  switch (e.t) {
    case 'array':
      if (e.items.every((x) => x.t === 'scalar'))
        return { t: 'scalar', v: e.items.map((x) => (x as { v: Value }).v), p: e.p };
      return e;
    case 'set':
      if (e.items.every((x) => x.t === 'scalar'))
        return { t: 'scalar', v: RSet.of(e.items.map((x) => (x as { v: Value }).v)), p: e.p };
      return e;
    case 'object':
      if (e.entries.every(([k, v]) => k.t === 'scalar' && v.t === 'scalar')) {
        const o = new RObject();
        for (const [k, v] of e.entries) o.set((k as { v: Value }).v, (v as { v: Value }).v);
        return { t: 'scalar', v: o, p: e.p };
      }
      return e;
    default:
      return e;
  }
}

function varsOf(e: Expr): string[] {
  const out: string[] = [];
  const walk = (x: Expr): void => {
    switch (x.t) {
      case 'var':
        out.push(x.name);
        return;
      case 'array':
      case 'set':
        x.items.forEach(walk);
        return;
      case 'object':
        x.entries.forEach(([, v]) => walk(v));
        return;
      default:
        return;
    }
  };
  walk(e);
  return out;
}

function isConst(e: Expr | null): boolean {
  if (!e) return true;
  switch (e.t) {
    case 'scalar':
      return true;
    case 'array':
    case 'set':
      return e.items.every(isConst);
    case 'object':
      return e.entries.every(([k, v]) => isConst(k) && isConst(v));
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Scheduling: reorder body literals so that each runs once the variables it needs are bound (Rego
// bodies are order-independent; OPA and regorus reorder the same way for safety).

interface VarClasses {
  pat: Set<string>;
  key: Set<string>;
  need: Set<string>;
}

function newClasses(): VarClasses {
  return { pat: new Set(), key: new Set(), need: new Set() };
}

function classify(e: Expr, c: VarClasses, pos: 'pat' | 'val', bodyVars: Set<string>): void {
  switch (e.t) {
    case 'var':
      (pos === 'pat' ? c.pat : c.need).add(e.name);
      return;
    case 'ref':
      classify(e.head, c, 'val', bodyVars);
      for (const p of e.path) {
        if (p.t === 'var') c.key.add(p.name);
        else classify(p, c, 'val', bodyVars);
      }
      return;
    case 'array':
      e.items.forEach((x) => classify(x, c, pos, bodyVars));
      return;
    case 'set':
      e.items.forEach((x) => classify(x, c, 'val', bodyVars));
      return;
    case 'object':
      e.entries.forEach(([k, v]) => {
        classify(k, c, 'val', bodyVars);
        classify(v, c, pos, bodyVars);
      });
      return;
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      for (const v of allVars(e)) if (bodyVars.has(v)) c.need.add(v);
      return;
    case 'call': {
      const extra =
        (e.target?.k === 'builtin' && e.args.length === (builtinArityOf(e.target.name) ?? -1) + 1) ||
        e.name === 'walk';
      e.args.forEach((a, i) => classify(a, c, extra && i === e.args.length - 1 ? 'pat' : 'val', bodyVars));
      return;
    }
    case 'bin':
      classify(e.l, c, 'val', bodyVars);
      classify(e.r, c, 'val', bodyVars);
      return;
    case 'neg':
      classify(e.e, c, 'val', bodyVars);
      return;
    case 'in':
      if (e.key) classify(e.key, c, 'val', bodyVars);
      classify(e.value, c, 'val', bodyVars);
      classify(e.coll, c, 'val', bodyVars);
      return;
    case 'unify':
    case 'assign':
      classify(e.l, c, 'pat', bodyVars);
      classify(e.r, c, 'pat', bodyVars);
      return;
    default:
      return;
  }
}

let builtinArityOf: (name: string) => number | undefined = () => undefined;
export function setBuiltinArityLookup(f: (name: string) => number | undefined): void {
  builtinArityOf = f;
}

/** every var name in an expression or body, including nested comprehensions */
function allVars(x: unknown, out = new Set<string>()): Set<string> {
  if (!x || typeof x !== 'object') return out;
  if (Array.isArray(x)) {
    for (const y of x) allVars(y, out);
    return out;
  }
  const o = x as { t?: string; name?: string; vars?: string[] };
  if (o.t === 'scalar') return out;
  if (o.t === 'var' && o.name) out.add(o.name);
  if (o.t === 'some' && o.vars) o.vars.forEach((v) => out.add(v));
  // a call's function name (`print`, `concat`) is not a variable: counting it made literals that
  // call builtins wait for one another, so print lines came out of source order
  for (const [k, v] of Object.entries(o))
    if (k !== 'p' && k !== 'target' && !(k === 'fn' && o.t === 'call') && v && typeof v === 'object')
      allVars(v, out);
  return out;
}

function subset(a: Iterable<string>, b: Set<string>): boolean {
  for (const x of a) if (!b.has(x) && !x.startsWith('_$')) return false;
  return true;
}

function literalPlan(l: Literal, bound: Set<string>, bodyVars: Set<string>): string[] | null {
  const withNeeds = (): boolean => {
    if (l.t === 'some') return true;
    const c = newClasses();
    for (const w of l.withs) classify(w.value, c, 'val', bodyVars);
    return subset(c.need, bound) && subset(c.pat, bound);
  };
  if (!withNeeds()) return null;
  switch (l.t) {
    case 'some':
      return [];
    case 'somein': {
      const c = newClasses();
      classify(l.coll, c, 'val', bodyVars);
      if (!subset(c.need, bound)) return null;
      const out = [...c.key];
      if (l.key) out.push(...allVars(l.key));
      out.push(...allVars(l.value));
      return out;
    }
    case 'every': {
      const c = newClasses();
      classify(l.coll, c, 'val', bodyVars);
      if (!subset(c.need, bound)) return null;
      const own = new Set([...(l.key ? allVars(l.key) : []), ...allVars(l.value)]);
      const free = [...allVars(l.body)].filter((v) => !own.has(v) && bodyVars.has(v));
      if (!subset(free, bound)) return null;
      return [...c.key];
    }
    case 'expr': {
      const e = l.e;
      const c = newClasses();
      if (l.neg) {
        classify(e, c, 'val', bodyVars);
        return subset([...c.need, ...c.pat, ...c.key], bound) ? [] : null;
      }
      if (e.t === 'unify' || e.t === 'assign') {
        const L = newClasses();
        const R = newClasses();
        classify(e.l, L, 'pat', bodyVars);
        classify(e.r, R, 'pat', bodyVars);
        if (!subset(L.need, bound) || !subset(R.need, bound)) return null;
        const lOk = subset(L.pat, bound);
        const rOk = subset(R.pat, bound);
        const arrays = e.l.t === 'array' && e.r.t === 'array';
        if (!lOk && !rOk && !arrays && e.t !== 'assign') return null;
        if (e.t === 'assign' && !rOk) return null;
        return [...L.pat, ...L.key, ...R.pat, ...R.key];
      }
      if (e.t === 'in' && !e.key && e.value.t === 'var' && !bound.has(e.value.name)) {
        classify(e.coll, c, 'val', bodyVars);
        return subset(c.need, bound) ? [e.value.name, ...c.key] : null;
      }
      classify(e, c, 'val', bodyVars);
      if (!subset(c.need, bound)) return null;
      return [...c.key, ...c.pat];
    }
  }
}

/** reorder a body (and nested bodies) so literals run after their inputs are bound */
export function scheduleBody(lits: Literal[], outerBound: Set<string>): Literal[] {
  const bodyVars = new Set<string>();
  for (const l of lits) {
    const top = allVarsShallow(l);
    top.forEach((v) => bodyVars.add(v));
  }
  const bound = new Set(outerBound);
  const pending = lits.slice();
  const out: Literal[] = [];
  while (pending.length) {
    let idx = -1;
    let outputs: string[] = [];
    for (let i = 0; i < pending.length; i++) {
      const plan = literalPlan(pending[i]!, bound, bodyVars);
      if (plan) {
        idx = i;
        outputs = plan;
        break;
      }
    }
    if (idx < 0) {
      // cannot prove safety: keep the remaining order
      out.push(...pending);
      break;
    }
    const [l] = pending.splice(idx, 1);
    out.push(l!);
    outputs.forEach((v) => bound.add(v));
    if (l!.t === 'expr' || l!.t === 'somein') allVarsShallow(l!).forEach((v) => bound.add(v));
  }
  // nested bodies see everything of this body as bound
  const inner = new Set([...outerBound, ...bodyVars]);
  for (const l of out) scheduleNested(l, inner);
  return out;
}

const shallowCache = new WeakMap<Literal, Set<string>>();

/** vars of a literal outside nested comprehension/every bodies */
function allVarsShallow(l: Literal): Set<string> {
  const hit = shallowCache.get(l);
  if (hit) return hit;
  const out = new Set<string>();
  shallowCache.set(l, out);
  const walk = (x: unknown): void => {
    if (!x || typeof x !== 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    const o = x as { t?: string; name?: string };
    if (o.t === 'arraycompr' || o.t === 'setcompr' || o.t === 'objcompr' || o.t === 'scalar') return;
    if (o.t === 'var' && o.name) out.add(o.name);
    for (const [k, v] of Object.entries(o))
      if (
        k !== 'p' &&
        k !== 'target' &&
        k !== 'body' &&
        !(k === 'fn' && o.t === 'call') &&
        v &&
        typeof v === 'object'
      )
        walk(v);
  };
  if (l.t === 'some') l.vars.forEach((v) => out.add(v));
  else walk(l);
  return out;
}

function scheduleNested(x: unknown, bound: Set<string>): void {
  if (!x || typeof x !== 'object') return;
  if (Array.isArray(x)) {
    x.forEach((y) => scheduleNested(y, bound));
    return;
  }
  const o = x as { t?: string; body?: Literal[] };
  if (o.t === 'scalar') return;
  if ((o.t === 'arraycompr' || o.t === 'setcompr' || o.t === 'objcompr' || o.t === 'every') && o.body) {
    o.body = scheduleBody(o.body, bound);
  }
  for (const [k, v] of Object.entries(o))
    if (k !== 'p' && k !== 'target' && k !== 'body' && v && typeof v === 'object') scheduleNested(v, bound);
}
