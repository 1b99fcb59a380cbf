// Turns an evaluation trace of a refused request into an answer to "why": for every rule body that
// was tried, the first expression that did not hold (where evaluation of that body stopped), with
// file, line and the values bound at that point; plus, for CreateContainerRequest, the policy
// container the request came closest to and the fields that differ.
import { TRACE_UNDEFINED, type TraceEntry } from '../../rego/index.js';
import type { AgentSession, Verdict } from '../agent.js';
import {
  closestContainers,
  formatContainerAnalysis,
  formatValue,
  type ContainerMatch,
} from './containers.js';
import { everyFailures, refValue } from './probe.js';
import { callArguments, functionParams, namesUsed, policyModule, refsRead } from './syntax.js';

/**
 * A failed rule body as the engine traced it (`text`: source of the expression; `bindings`: the
 * variables bound when it was evaluated, i.e. the values it compared), merged over its attempts.
 */
export interface FailedExpression extends TraceEntry {
  /** How many attempts of this body stopped at this expression (iterations, several callers). */
  attempts: number;
  /** Values of the refs in the expression (e.g. `input.process.Args`) that the trace did not bind. */
  operands?: Record<string, unknown>;
  /** For a failed `every`: the elements its body does not hold for. */
  failingElements?: Array<{ key?: unknown; value: unknown }>;
}

/** Shown for a ref that is undefined (the engine's own marker for compared sides). */
const UNDEFINED = TRACE_UNDEFINED;

/**
 * The values of the refs the failed expression reads (`input.process.Args`, `p.exec_commands`), so
 * the user sees what was compared even for `in`, calls and `not`, where the engine records only
 * the bound variables. Refs that name a called function are skipped.
 */
function operandValues(session: AgentSession, f: FailedExpression, input: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ref of refsRead(f.text)) {
    if (ref in f.bindings) continue;
    const v = refValue(session, ref, input, f.bindings);
    const root = /^[A-Za-z_]\w*/.exec(ref)?.[0] ?? '';
    // "undefined" is worth saying only where the root is known; elsewhere it may just be unbound
    if (v !== undefined) out[ref] = v;
    else if (root === 'input' || root === 'data' || root in f.bindings) out[ref] = UNDEFINED;
  }
  return out;
}

/**
 * Values of the parameters of the function `f` failed in, taken from the failed call to it in its
 * caller (`failures` ordered outer first). Only simple parameter names are bound.
 */
function paramBindings(
  session: AgentSession,
  f: FailedExpression,
  failures: FailedExpression[],
  valueOf: (caller: FailedExpression, arg: string) => unknown,
): Record<string, unknown> {
  const name = f.rule.split('.').pop() ?? '';
  const module = f.file === session.policy.name ? policyModule(f.file, session.policy.text) : undefined;
  const params = functionParams(module, name, f.line);
  if (!params) return {};
  // the closest enclosing failure that calls the function
  const caller = failures.filter((g) => g.depth < f.depth && callArguments(g.text, name) !== undefined).pop();
  const args = caller ? callArguments(caller.text, name) : undefined;
  if (!caller || !args || args.length !== params.length) return {};
  const out: Record<string, unknown> = {};
  params.forEach((p, i) => {
    if (p === undefined) return;
    const v = valueOf(caller, args[i]!);
    if (v !== undefined) out[p] = v;
  });
  return out;
}

export interface Explanation {
  request: string;
  /** One-sentence summary of the verdict. */
  summary: string;
  failures: FailedExpression[];
  /** CreateContainerRequest only: policy containers ranked by closeness, best first. */
  containers?: ContainerMatch[];
  error?: string;
}

/**
 * Groups the trace of a refused evaluation into failed rule bodies. The engine (src/rego) records one
 * trace entry per rule body that produced no solution, at the furthest expression that body
 * reached: evaluation goes left to right and backtracks through every iteration, so the furthest
 * expression reached is the one that failed. Bodies that failed at the same expression (iterations,
 * several callers) are merged and counted. Outer rules come first.
 */
function failedExpressions(trace: TraceEntry[]): FailedExpression[] {
  const merged = new Map<string, FailedExpression>();
  for (const e of trace) {
    const key = `${e.rule}\u0000${e.file}:${e.line}:${e.col}`;
    const prev = merged.get(key);
    if (prev) {
      prev.attempts++;
      prev.depth = Math.min(prev.depth, e.depth);
      const samples = samplesOf.get(prev)!;
      if (samples.length < MAX_SAMPLES) samples.push(e.bindings);
      continue;
    }
    const f: FailedExpression = { ...e, attempts: 1 };
    merged.set(key, f);
    samplesOf.set(f, [e.bindings]);
  }
  return [...merged.values()].sort((a, b) => a.depth - b.depth);
}

/** Binding sets of the merged attempts of a failure (the first one is its `bindings`). */
const samplesOf = new WeakMap<FailedExpression, Array<Record<string, unknown>>>();
const MAX_SAMPLES = 200;

/**
 * Once a failed `every` is known to fail for certain elements, failures nested under it are only
 * relevant for those elements: a function with several definitions fails in one of them for every
 * element the other accepts. Nested failures get the bindings of an attempt about a failing element,
 * and those that never concern one are dropped.
 */
function focusOnFailingElements(failures: FailedExpression[]): FailedExpression[] {
  const drop = new Set<FailedExpression>();
  for (const every of failures) {
    if (!every.failingElements || every.failingElements.length === 0) continue;
    const wanted = new Set(every.failingElements.map((el) => JSON.stringify(el.value)));
    for (const f of failures) {
      if (f.depth <= every.depth || f === every) continue;
      const sample = (samplesOf.get(f) ?? [f.bindings]).find((b) =>
        Object.values(b).some((v) => wanted.has(JSON.stringify(v))),
      );
      if (sample) f.bindings = sample;
      else drop.add(f);
    }
  }
  return failures.filter((f) => !drop.has(f));
}

function jsonLiteral(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function summarize(verdict: Verdict): string {
  const rule = `data.agent_policy.${verdict.request}`;
  switch (verdict.reason) {
    case 'undefined':
      return `${rule} is undefined: the agent refuses a request without a result`;
    case 'false':
      return `${rule} is ${formatValue(verdict.result)}: the request is refused`;
    case 'invalid-result':
      return `${rule}: ${verdict.error ?? 'invalid result'}`;
    case 'error':
      return `${rule}: evaluation failed: ${verdict.error ?? 'unknown error'}`;
    default:
      return `${rule} allowed the request`;
  }
}

/**
 * The failed rule bodies of a trace, with the values of the refs each failed expression reads and,
 * for a failed `every`, the elements it fails for.
 */
export function describeFailures(
  session: AgentSession,
  trace: TraceEntry[],
  input: unknown,
): FailedExpression[] {
  const failures = failedExpressions(trace);
  for (const f of failures) f.operands = operandValues(session, f, input);
  const valueOf = (caller: FailedExpression, arg: string): unknown =>
    caller.bindings[arg] ??
    caller.operands?.[arg] ??
    refValue(session, arg, input, caller.bindings) ??
    jsonLiteral(arg);
  for (const f of failures) {
    if (!/^every\s/.test(f.text.trim())) continue;
    const params = paramBindings(session, f, failures, valueOf);
    const elements = everyFailures(session, f.text, input, { ...params, ...f.bindings });
    if (elements) f.failingElements = elements;
  }
  return focusOnFailingElements(dropSucceededCalls(failures));
}

/**
 * A failed body of a helper rule or function matters only if the expression that uses it failed
 * too: helpers with several definitions (`empty(x) if x == null`, `empty(x) if count(x) == 0`) fail
 * in one definition whenever another one holds. So a failure is kept when it is at the outermost
 * level, or when some enclosing failed expression names its rule.
 */
function dropSucceededCalls(failures: FailedExpression[]): FailedExpression[] {
  if (failures.length === 0) return failures;
  const top = Math.min(...failures.map((f) => f.depth));
  return failures.filter((f) => {
    if (f.depth === top) return true;
    const name = f.rule.split('.').pop() ?? '';
    // an enclosing expression that does not parse is taken to use it (better shown than lost)
    return failures.some((g) => g.depth < f.depth && (namesUsed(g.text)?.has(name) ?? true));
  });
}

/** Explains why `verdict` (a refusal) happened, re-evaluating the request with tracing on. */
export function explainVerdict(session: AgentSession, verdict: Verdict, input: unknown): Explanation {
  const traced = session.trace(verdict.request, input);
  const explanation: Explanation = {
    request: verdict.request,
    summary: summarize(verdict),
    failures: describeFailures(session, traced.trace, input),
  };
  if (traced.error) explanation.error = traced.error;
  if (verdict.request === 'CreateContainerRequest') {
    const policyData = session.ruleValue('policy_data');
    if (policyData !== undefined) explanation.containers = closestContainers(policyData, input);
  }
  return explanation;
}

const MAX_FAILURES = 25;
const SMALL_VALUE = 100;
const MAX_ELEMENTS = 10;

/** Whether a binding key is a plain variable (else it is the text of a compared expression). */
function isVariable(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/**
 * The values worth showing for a failed expression: both sides of a failed comparison first, then
 * variables whose values are short. Large variables (whole OCI specs) are only named when compared
 * values say more; without compared values they are shown, truncated.
 */
function bindingLines(bindings: Record<string, unknown>, pad: string): string[] {
  const entries = Object.entries(bindings);
  const compared = entries.filter(([k]) => !isVariable(k));
  const vars = entries.filter(([k]) => isVariable(k));
  const lines: string[] = [];
  for (const [k, v] of compared) lines.push(`${pad}${k} = ${v === UNDEFINED ? 'undefined' : formatValue(v)}`);
  const hidden: string[] = [];
  for (const [k, v] of vars) {
    const text = v === UNDEFINED ? 'undefined' : formatValue(v);
    if (compared.length > 0 && text.length > SMALL_VALUE) hidden.push(k);
    else lines.push(`${pad}${k} = ${text}`);
  }
  if (hidden.length) lines.push(`${pad}(also bound: ${hidden.join(', ')})`);
  return lines;
}

/** Readable text of an explanation, indented under the DENY line. */
export function formatExplanation(x: Explanation, indent = '    '): string[] {
  const lines = [`${indent}${x.summary}`];
  if (x.failures.length > 0) {
    // nesting level of each failure: rank of its depth among the depths seen
    const depths = [...new Set(x.failures.map((f) => f.depth))].sort((a, b) => a - b);
    lines.push(`${indent}rule bodies tried, and the first expression that failed in each:`);
    for (const f of x.failures.slice(0, MAX_FAILURES)) {
      const pad = indent + '  ' + '  '.repeat(Math.min(depths.indexOf(f.depth), 6));
      const times = f.attempts > 1 ? ` (${f.attempts} times)` : '';
      lines.push(`${pad}${f.file}:${f.line}:${f.col}  in ${f.rule.replace(/^data\./, '')}${times}`);
      lines.push(`${pad}  ${f.text.replace(/\s+/g, ' ').trim()}`);
      lines.push(...bindingLines({ ...f.operands, ...f.bindings }, `${pad}    `));
      for (const el of (f.failingElements ?? []).slice(0, MAX_ELEMENTS)) {
        const what = 'key' in el ? `${formatValue(el.key)}: ${formatValue(el.value)}` : formatValue(el.value);
        lines.push(`${pad}    fails for ${what}`);
      }
      if ((f.failingElements?.length ?? 0) > MAX_ELEMENTS) {
        lines.push(`${pad}    … and ${f.failingElements!.length - MAX_ELEMENTS} more elements`);
      }
    }
    if (x.failures.length > MAX_FAILURES)
      lines.push(`${indent}  … ${x.failures.length - MAX_FAILURES} more (use --json)`);
  } else if (!x.error && x.summary.includes(' is false')) {
    lines.push(`${indent}no rule body failed: false is the policy's default, or the value a rule returns`);
  } else if (!x.error) {
    lines.push(`${indent}the policy has no rule for ${x.request}, and no default`);
  }
  if (x.containers) lines.push(...formatContainerAnalysis(x.containers, indent));
  return lines;
}
