// Support for explaining a failed `every`: the engine reports the `every` expression as a whole, so
// to say which element failed its body is re-run per element. That needs every variable the body
// reads: the trace binds only the variables of the `every` domain, so function parameters are
// recovered from the caller's failed call, and a body that still reads unknown names is not probed
// (a wrong "fails for" line would be worse than none).
import type { FailedExpression } from './explain.js';

const KEYWORDS = new Set([
  'not',
  'some',
  'in',
  'every',
  'if',
  'contains',
  'else',
  'with',
  'as',
  'true',
  'false',
  'null',
  'input',
  'data',
  'default',
  'import',
  'package',
  'future',
  'keywords',
  'rego',
  'v1',
]);

/** Source text with string literals blanked (so their words are not taken for names). */
function stripStrings(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
}

/** Whether `name` is defined at package level in `policyText` (a rule or function head). */
export function isPackageRule(policyText: string, name: string): boolean {
  return new RegExp(`^(default\\s+)?${name}(\\s*(\\(|\\[|:=|=|if\\b|contains\\b|\\{)|\\s*$)`, 'm').test(
    policyText,
  );
}

/**
 * Names the body reads that are neither bound, nor declared in the body, nor package rules, nor
 * builtins/keywords: if any remain, the probe would see them unbound.
 */
export function unknownNames(body: string, known: Set<string>, policyText: string): string[] {
  const text = stripStrings(body);
  const declared = new Set<string>();
  for (const m of text.matchAll(/\b([A-Za-z_]\w*)\s*:?=(?!=)/g)) declared.add(m[1]!);
  for (const m of text.matchAll(/\bsome\s+([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)/g)) {
    for (const n of m[1]!.split(',')) declared.add(n.trim());
  }
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<![\w.])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*(\()?/g)) {
    const name = m[1]!;
    if (m[3]) continue; // a call: builtin or function of the package
    if (KEYWORDS.has(name) || known.has(name) || declared.has(name) || name === '_') continue;
    if (isPackageRule(policyText, name)) continue;
    out.add(name);
  }
  return [...out];
}

/** Top-level comma-separated arguments of the call `name(...)` in `text`, or undefined. */
export function callArguments(text: string, name: string): string[] | undefined {
  const start = new RegExp(`(?<![\\w.])${name}\\s*\\(`).exec(text);
  if (!start) return undefined;
  const args: string[] = [];
  let depth = 0;
  let cur = '';
  let inString = false;
  for (let i = start.index + start[0].length; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      cur += c;
      if (c === '\\') cur += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === '(' || c === '[' || c === '{') depth++;
    if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        if (cur.trim() !== '') args.push(cur.trim());
        return args;
      }
      depth--;
    }
    if (c === ',' && depth === 0) {
      args.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  return undefined;
}

/** Parameter names of the function head `name(...)` nearest above `line` in `policyText`. */
export function functionParams(policyText: string, name: string, line: number): string[] | undefined {
  const lines = policyText.split('\n');
  const head = new RegExp(`^${name}\\s*\\(([^)]*)\\)`);
  for (let i = Math.min(line - 1, lines.length - 1); i >= 0; i--) {
    const m = head.exec(lines[i]!);
    if (m) return m[1]!.split(',').map((p) => p.trim());
  }
  return undefined;
}

/**
 * Values of the parameters of the function `f` failed in, taken from the failed call to it in its
 * caller (`failures` ordered outer first). Only simple parameter names are bound.
 */
export function paramBindings(
  f: FailedExpression,
  failures: FailedExpression[],
  policyText: string,
  valueOf: (caller: FailedExpression, arg: string) => unknown,
): Record<string, unknown> {
  const name = f.rule.split('.').pop() ?? '';
  const params = functionParams(policyText, name, f.line);
  if (!params) return {};
  // the closest enclosing failure that calls the function
  const caller = failures.filter((g) => g.depth < f.depth && callArguments(g.text, name) !== undefined).pop();
  const args = caller ? callArguments(caller.text, name) : undefined;
  if (!caller || !args || args.length !== params.length) return {};
  const out: Record<string, unknown> = {};
  params.forEach((p, i) => {
    if (!/^[A-Za-z_]\w*$/.test(p) || p === '_') return;
    const v = valueOf(caller, args[i]!);
    if (v !== undefined) out[p] = v;
  });
  return out;
}
