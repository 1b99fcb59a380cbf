// Compile-time recursion check, as OPA does it (regorus only notices recursion while evaluating,
// and a function that calls itself with other arguments would recurse until the stack runs out).
// Rego forbids recursion so that evaluation terminates: a rule may not depend on itself, directly
// or through other rules. Dependencies are the `data` references and function calls of a rule's
// bodies, values, keys and arguments; a reference with a variable (`data.p[x]`) or to a package
// (`data.p`) depends on every rule below its constant prefix, as in OPA. `with` targets are
// replacements, not dependencies.
//
// Error text as OPA writes it (open-policy-agent/opa, ast/compile.go checkRecursion; documented
// under docs "rego_recursion_error: rule {name} is recursive"), e.g.
//   policy.rego:3: rego_recursion_error: rule data.policy.rule_a is recursive: data.policy.rule_a -> data.policy.rule_b -> data.policy.rule_a
import type { Expr, Rule, RuleNode } from './ast.js';
import { RegoParseError } from './errors.js';

const hasDefs = (n: RuleNode): boolean =>
  n.complete.length > 0 || n.sets.length > 0 || n.objects.length > 0 || n.funcs.length > 0;

function rulesOf(n: RuleNode): Rule[] {
  return [...n.complete, ...n.sets, ...n.objects, ...n.funcs];
}

/** every node with definitions at or below `n` */
function nodesBelow(n: RuleNode, out: RuleNode[] = []): RuleNode[] {
  if (hasDefs(n)) out.push(n);
  for (const c of n.children.values()) nodesBelow(c, out);
  return out;
}

/** the rule nodes a `data` path reads (`open`: a variable segment follows the constant ones) */
function targets(root: RuleNode, path: string[], open: boolean): RuleNode[] {
  let n = root;
  for (const seg of path) {
    // a rule node is a leaf of the rule tree: deeper segments select inside its value
    if (hasDefs(n)) return [n];
    const c = n.children.get(seg);
    if (!c) return [];
    n = c;
  }
  if (hasDefs(n)) return [n];
  // a package or a prefix of rule paths: everything below (also when a variable segment follows)
  return open || n.children.size > 0 ? nodesBelow(n) : [];
}

function constPrefix(e: Extract<Expr, { t: 'ref' }>): { path: string[]; open: boolean } {
  const path: string[] = [];
  for (const seg of e.path) {
    // constant numbers and booleans index data by their text (`data.test[2]` reads key "2")
    if (seg.t === 'scalar' && (typeof seg.v !== 'object' || seg.v === null)) path.push(String(seg.v));
    else return { path, open: true };
  }
  return { path, open: false };
}

function dependencies(root: RuleNode, n: RuleNode): Set<RuleNode> {
  const deps = new Set<RuleNode>();
  const visit = (x: unknown): void => {
    if (!x || typeof x !== 'object') return;
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
      return;
    }
    const o = x as Expr & { t?: string };
    switch (o.t) {
      case 'scalar':
        return;
      case 'data':
        for (const d of nodesBelow(root)) deps.add(d);
        return;
      case 'ref':
        if (o.head.t === 'data') {
          const { path, open } = constPrefix(o);
          for (const d of targets(root, path, open)) deps.add(d);
          // variables and nested calls inside the path
          visit(o.path);
          return;
        }
        break;
      case 'call':
        if (o.target?.k === 'rule') for (const d of targets(root, o.target.path, false)) deps.add(d);
        visit(o.args);
        return;
    }
    for (const [k, v] of Object.entries(o)) {
      if (k === 'p' || k === 'module' || k === 'loc' || k === 'target') continue;
      if (k === 'withs') {
        // `with data.x as v`: the value is read, the target is replaced
        for (const w of v as { value: Expr }[]) visit(w.value);
        continue;
      }
      if (v && typeof v === 'object') visit(v);
    }
  };
  for (const r of rulesOf(n)) visit([r.body, r.elses, r.value, r.keys, r.args]);
  return deps;
}

/** Throws RegoParseError (rego_recursion_error) when a rule depends on itself. */
export function checkRecursion(root: RuleNode): void {
  const nodes = nodesBelow(root);
  const deps = new Map<RuleNode, RuleNode[]>();
  for (const n of nodes) deps.set(n, [...dependencies(root, n)]);
  if (!hasCycle(nodes, deps)) return;
  const name = (n: RuleNode): string => ['data', ...n.path].join('.');
  // report the rule that comes first in the sources, with the shortest cycle through it (OPA
  // reports one error per rule on a cycle; the first is enough to fix the policy)
  const first = (n: RuleNode): Rule => rulesOf(n).sort((a, b) => a.loc.line - b.loc.line)[0]!;
  const ordered = nodes
    .slice()
    .sort(
      (a, b) => first(a).loc.file.localeCompare(first(b).loc.file) || first(a).loc.line - first(b).loc.line,
    );
  for (const start of ordered) {
    // breadth-first search back to `start`: the shortest cycle
    const prev = new Map<RuleNode, RuleNode | null>([[start, null]]);
    const queue: RuleNode[] = [start];
    let found: RuleNode | null = null;
    for (let qi = 0; qi < queue.length && !found; qi++) {
      const cur = queue[qi]!;
      for (const d of deps.get(cur) ?? []) {
        if (d === start) {
          found = cur;
          break;
        }
        if (!prev.has(d)) {
          prev.set(d, cur);
          queue.push(d);
        }
      }
    }
    if (!found) continue;
    const chain: RuleNode[] = [];
    for (let x: RuleNode | null = found; x; x = prev.get(x) ?? null) chain.unshift(x);
    const text = [...chain, start].map(name).join(' -> ');
    const r = first(start);
    // regorus' word for it ("recursion detected") ends the message, so both phrasings match
    throw new RegoParseError(
      `rego_recursion_error: rule ${name(start)} is recursive: ${text} (recursion detected when compiling)`,
      r.loc,
    );
  }
}

/** iterative three-colour depth-first search: is there any cycle at all (the usual answer is no) */
function hasCycle(nodes: RuleNode[], deps: Map<RuleNode, RuleNode[]>): boolean {
  const state = new Map<RuleNode, 1 | 2>(); // 1: on the stack, 2: done
  for (const s of nodes) {
    if (state.has(s)) continue;
    const stack: [RuleNode, number][] = [[s, 0]];
    state.set(s, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const ds = deps.get(top[0]) ?? [];
      if (top[1] === ds.length) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const d = ds[top[1]++]!;
      const st = state.get(d);
      if (st === 1) return true;
      if (st === undefined) {
        state.set(d, 1);
        stack.push([d, 0]);
      }
    }
  }
  return false;
}
