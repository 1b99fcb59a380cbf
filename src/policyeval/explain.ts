// Turns an evaluation trace of a refused request into an answer to "why": for every rule body that
// was tried, the first expression that did not hold (where evaluation of that body stopped), with
// file, line and the values bound at that point; plus, for CreateContainerRequest, the policy
// container the request came closest to and the fields that differ.
import type { AgentSession, Verdict } from './agent.js';
import {
  closestContainers,
  formatContainerAnalysis,
  formatValue,
  type ContainerMatch,
} from './containers.js';
import type { TraceEntry } from './engine.js';

export interface FailedExpression {
  rule: string;
  file: string;
  line: number;
  col: number;
  /** Source text of the expression. */
  text: string;
  /** Variables bound when it was evaluated (the values it compared). */
  bindings: Record<string, unknown>;
  depth: number;
  /** How many attempts of this body stopped at this expression (iterations, several callers). */
  attempts: number;
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

/** Whether a trace entry says explicitly that its expression failed / succeeded (engines may add it). */
function outcome(e: TraceEntry): boolean | undefined {
  for (const k of ['ok', 'success', 'result', 'passed']) {
    const v = e[k];
    if (typeof v === 'boolean') return v;
  }
  const ev = e['event'] ?? e['kind'] ?? e['op'];
  if (typeof ev === 'string') {
    if (/fail/i.test(ev)) return false;
    if (/exit|redo|succ|pass/i.test(ev)) return true;
  }
  return undefined;
}

function before(a: TraceEntry, b: TraceEntry): boolean {
  return a.file === b.file && (a.line < b.line || (a.line === b.line && a.col < b.col));
}

/**
 * Splits the trace into body attempts and keeps, for each, the furthest expression it reached: as
 * a body is evaluated left to right and stops at the first expression that does not hold (after
 * backtracking through all iterations), the furthest one reached is the one that failed.
 * An attempt ends when another rule or depth takes over at the same or a shallower level, or when
 * evaluation comes back to (or before) the body's first expression.
 */
export function failedExpressions(trace: TraceEntry[]): FailedExpression[] {
  interface Attempt {
    first: TraceEntry;
    furthest: TraceEntry;
    explicitFail?: TraceEntry;
  }
  const done: Attempt[] = [];
  const open: Attempt[] = []; // stack by depth
  const close = (toDepth: number) => {
    while (open.length > 0 && open[open.length - 1]!.first.depth >= toDepth) done.push(open.pop()!);
  };
  for (const e of trace) {
    const top = open[open.length - 1];
    if (
      top &&
      top.first.depth === e.depth &&
      top.first.rule === e.rule &&
      !before(e, top.first) &&
      !sameSpot(e, top.first)
    ) {
      if (!before(e, top.furthest)) top.furthest = e;
    } else if (top && top.first.depth < e.depth) {
      open.push({ first: e, furthest: e });
    } else {
      close(e.depth);
      open.push({ first: e, furthest: e });
    }
    const o = outcome(e);
    const cur = open[open.length - 1]!;
    if (o === false && !cur.explicitFail) cur.explicitFail = e;
  }
  close(-Infinity);

  // Attempts whose last expression is known to have succeeded did not fail; drop them.
  const failed = done.filter((a) => a.explicitFail !== undefined || outcome(a.furthest) !== true);
  const merged = new Map<string, FailedExpression>();
  for (const a of failed) {
    const e = a.explicitFail ?? a.furthest;
    const key = `${e.rule}\u0000${e.file}:${e.line}:${e.col}`;
    const prev = merged.get(key);
    if (prev) {
      prev.attempts++;
      prev.depth = Math.min(prev.depth, e.depth);
      continue;
    }
    merged.set(key, {
      rule: e.rule,
      file: e.file,
      line: e.line,
      col: e.col,
      text: e.text,
      bindings: e.bindings,
      depth: e.depth,
      attempts: 1,
    });
  }
  return [...merged.values()].sort((a, b) => a.depth - b.depth);
}

function sameSpot(a: TraceEntry, b: TraceEntry): boolean {
  return a.file === b.file && a.line === b.line && a.col === b.col;
}

function summarize(verdict: Verdict): string {
  const rule = `data.agent_policy.${verdict.request}`;
  switch (verdict.reason) {
    case 'undefined':
      return `${rule} is undefined: no rule body held and there is no default (the agent refuses the request)`;
    case 'false':
      return `${rule} is ${formatValue(verdict.result)}: no rule body allowed the request`;
    case 'invalid-result':
      return `${rule}: ${verdict.error ?? 'invalid result'}`;
    case 'error':
      return `${rule}: evaluation failed: ${verdict.error ?? 'unknown error'}`;
    default:
      return `${rule} allowed the request`;
  }
}

/** Explains why `verdict` (a refusal) happened, re-evaluating the request with tracing on. */
export function explainVerdict(session: AgentSession, verdict: Verdict, input: unknown): Explanation {
  const traced = session.trace(verdict.request, input);
  const explanation: Explanation = {
    request: verdict.request,
    summary: summarize(verdict),
    failures: failedExpressions(traced.trace),
  };
  if (traced.error) explanation.error = traced.error;
  if (verdict.request === 'CreateContainerRequest') {
    const policyData = session.ruleValue('policy_data');
    if (policyData !== undefined) explanation.containers = closestContainers(policyData, input);
  }
  return explanation;
}

const MAX_FAILURES = 25;
const MAX_BINDINGS = 8;

/** Readable text of an explanation, indented under the DENY line. */
export function formatExplanation(x: Explanation, indent = '    '): string[] {
  const lines = [`${indent}${x.summary}`];
  if (x.failures.length > 0) {
    lines.push(`${indent}rule bodies tried, and the first expression that failed in each:`);
    for (const f of x.failures.slice(0, MAX_FAILURES)) {
      const pad = indent + '  ' + '  '.repeat(Math.min(f.depth, 6));
      const times = f.attempts > 1 ? ` (${f.attempts} attempts)` : '';
      lines.push(`${pad}${f.file}:${f.line}:${f.col}  in ${f.rule}${times}`);
      lines.push(`${pad}  ${f.text.replace(/\s+/g, ' ').trim()}`);
      const vars = Object.entries(f.bindings).slice(0, MAX_BINDINGS);
      for (const [k, v] of vars) lines.push(`${pad}    ${k} = ${formatValue(v)}`);
      if (Object.keys(f.bindings).length > MAX_BINDINGS) lines.push(`${pad}    …`);
    }
    if (x.failures.length > MAX_FAILURES)
      lines.push(`${indent}  … ${x.failures.length - MAX_FAILURES} more (use --json)`);
  } else if (!x.error) {
    lines.push(
      `${indent}no rule body for ${x.request} was tried (the policy has no rule for it, or only a default)`,
    );
  }
  if (x.containers) lines.push(...formatContainerAnalysis(x.containers, indent));
  return lines;
}
