// `contrast policy eval`: evaluate a Kata agent policy against one input or a recorded request log,
// with the agent's own semantics (state kept between requests), and explain refusals.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { ALLOW_FAILURES_RULE, AgentSession, PACKAGE_PATH, type Verdict } from './agent.js';
import {
  describeFailures,
  explainVerdict,
  type Explanation,
  type FailedExpression,
} from './explain/explain.js';
import type { RecordedRequest } from './requests.js';
import { readTextInputSync } from '../internal/files.js';

export { AgentSession, ALLOW_FAILURES_RULE, PACKAGE_PATH, type DenyReason, type Verdict } from './agent.js';
export {
  closestContainers,
  formatContainerAnalysis,
  policyStringMatches,
  type ContainerMatch,
  type FieldDiff,
} from './explain/containers.js';
export { type PolicyEngine, type TraceEntry } from './engine.js';
export { jsonStringify } from '../rego/index.js';
export {
  describeFailures,
  explainVerdict,
  formatExplanation,
  type Explanation,
  type FailedExpression,
} from './explain/explain.js';
export {
  extractPolicy,
  policyFromAnnotations,
  INITDATA_ANNOTATION,
  loadPolicy,
  POLICY_ANNOTATION,
  type PolicySource,
} from './extract.js';
export { loadRequestLog, parseRequestLog, type RecordedRequest } from './requests.js';
export { agentInput } from './proto.js';

export interface ReplayEntry {
  line: number;
  verdict: Verdict;
  explanation?: Explanation;
}

/** Evaluates every request in order on one session; the agent state flows from one to the next. */
export function replay(
  session: AgentSession,
  requests: RecordedRequest[],
  options: { explain?: boolean } = {},
): ReplayEntry[] {
  return requests.map((r) => {
    const verdict = session.evaluate(r.type, r.input);
    const entry: ReplayEntry = { line: r.line, verdict };
    const newPolicy = (r.input as { policy?: unknown } | null)?.policy;
    if (r.type === 'SetPolicyRequest' && verdict.allowed && typeof newPolicy === 'string') {
      try {
        session.replacePolicy(newPolicy, `SetPolicyRequest (line ${r.line})`);
      } catch (err) {
        // the agent's set_policy fails and the request with it (and the agent is left without a policy)
        verdict.allowed = false;
        verdict.policyAllowed = false;
        verdict.reason = 'error';
        verdict.error = errorMessage(err);
      }
    }
    // A refused request changes no state, so tracing it again afterwards sees what the agent saw.
    if (options.explain && !verdict.policyAllowed && r.type !== ALLOW_FAILURES_RULE) {
      entry.explanation = explainVerdict(session, verdict, r.input);
    }
    return entry;
  });
}

/** The --json shape of one replayed request. */
export function replayJson(entry: ReplayEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {
    request: entry.verdict.request,
    result: toJsonValue(entry.verdict.result),
    prints: entry.verdict.prints,
  };
  // Only present when evaluation failed: the agent refuses the request, and `result: null` alone
  // would not say why.
  if (entry.verdict.error !== undefined) out['error'] = entry.verdict.error;
  if (entry.explanation) out['explain'] = toJsonValue(entry.explanation);
  return out;
}

export interface QueryResult {
  query: string;
  /** Value of the ref (undefined when undefined), or the bindings of a general query. */
  result: unknown;
  prints: string[];
  failures?: FailedExpression[];
  explanation?: Explanation;
  error?: string;
}

const REF = /^(data|input)(\.[A-Za-z_][A-Za-z0-9_]*|\[("[^"]*"|\d+)\])*$/;

/**
 * Evaluates `query` with `input`. `data.agent_policy.<Request>` is judged as the agent would judge
 * that request (its explanation includes the container analysis); another ref is evaluated as a
 * rule; anything else runs as a general query and yields its bindings.
 */
export function evaluateQuery(
  session: AgentSession,
  query: string,
  input: unknown,
  options: { explain?: boolean } = {},
): QueryResult {
  const q = query.trim();
  const m = new RegExp(`^${PACKAGE_PATH.replace('.', '\\.')}\\.([A-Za-z_][A-Za-z0-9_]*Request)$`).exec(q);
  if (m) {
    const verdict = session.evaluate(m[1]!, input);
    const out: QueryResult = {
      query: q,
      result: verdict.reason === 'error' ? undefined : (verdict.result ?? undefined),
      prints: verdict.prints,
    };
    if (verdict.error) out.error = verdict.error;
    if (options.explain && !verdict.policyAllowed) out.explanation = explainVerdict(session, verdict, input);
    return out;
  }
  const engine = session.engine;
  engine.setInput(input);
  engine.enableTrace(options.explain === true);
  const out: QueryResult = { query: q, result: undefined, prints: [] };
  try {
    out.result = REF.test(q) ? engine.evalRule(q) : engine.evalQuery(q);
  } catch (err) {
    out.error = errorMessage(err);
  } finally {
    out.prints = engine.takePrints();
    const trace = engine.takeTrace();
    engine.enableTrace(false);
    const failed =
      out.result === undefined ||
      out.result === false ||
      (Array.isArray(out.result) && out.result.length === 0);
    if (options.explain && failed) out.failures = describeFailures(session, trace, input);
  }
  return out;
}

/** Reads a JSON document from a file (or `-` for stdin), naming the option and file on failure. */
export function readJsonFile(option: string, file: string): unknown {
  let text: string;
  try {
    text = readTextInputSync(file);
  } catch (err) {
    if (err instanceof ContrastError) throw new ContrastError(`${option} ${err.message}`, { code: err.code });
    throw new ContrastError(`${option} ${file}: cannot read file: ${errorMessage(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ContrastError(`${option} ${file}: not valid JSON: ${errorMessage(err)}`);
  }
}

/** `--data` takes inline JSON (starting with `{`) or a file name. */
export function readDataOption(value: string): unknown {
  const t = value.trim();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch (err) {
      throw new ContrastError(`--data: inline JSON is not valid: ${errorMessage(err)}`);
    }
  }
  const data = readJsonFile('--data', value);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ContrastError(`--data ${value}: must be a JSON object (it is merged into the data document)`);
  }
  return data;
}

/**
 * Plain JSON of an engine value (sets as arrays, Maps as objects, undefined as null). Big integers
 * stay bigint: print with `jsonStringify`, which writes them exactly.
 */
export function toJsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Set) return [...v].map(toJsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonValue(x)]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x);
  return out;
}
