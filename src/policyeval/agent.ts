// Judges agent requests the way the Kata agent does, so that a replayed log gets the verdicts the
// pod would get in its VM.
//
// Behaviour of the agent's policy module (kata-containers `src/agent/policy/src/policy.rs`,
// `AgentPolicy`; read for behaviour, not copied):
// - A fresh regorus engine per policy, non-strict builtin errors, prints gathered, and the data
//   document seeded with `{"pstate": {}}` before the policy is added (`new_engine`). The policy text
//   itself carries `policy_data := {...}`, so no other data is loaded.
// - `AllowRequestsFailingPolicy` is evaluated once when the policy is loaded (`update_allow_failures
//   _flag`, input `{}`); when it is true, a later request whose rule is undefined or false is
//   allowed anyway (debug policies). Evaluation errors, malformed results and failing patches are
//   errors (`?` / `bail!` in `allow_request`) and refuse the request even then.
// - Each request evaluates the query `data.agent_policy.<Request>` with the request as input
//   (`allow_request`). The outcome:
//   * no result (the rule is undefined, including a request type the policy has no rule for):
//     an error, so the request is refused, unless AllowRequestsFailingPolicy;
//   * a boolean: that is the verdict;
//   * an object: read as `{allowed: bool, ops?: JSON Patch}`; a missing/non-boolean `allowed` is an
//     error (refused). Only when `allowed` is true are the ops applied, to the WHOLE data document
//     (`apply_patch_to_state`: get_data → json_patch::patch → clear_data → add_data), so rules write
//     to paths like `/pstate/...`. A failing patch is an error and the request is refused; the Rust
//     `json_patch::patch` is all-or-nothing, so the data stays as it was;
//   * any other value: an error (refused).
//   Evaluation errors (e.g. conflicting rule values) also refuse the request.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { newEngine, type PolicyEngine, type TraceEntry } from './engine.js';
import type { PolicySource } from './extract.js';

const { applyPatch } = jsonpatch;

export const PACKAGE_PATH = 'data.agent_policy';
export const ALLOW_FAILURES_RULE = 'AllowRequestsFailingPolicy';

export type DenyReason = 'false' | 'undefined' | 'invalid-result' | 'error';

export interface Verdict {
  /** Request type, e.g. `CreateContainerRequest`. */
  request: string;
  /** The rule's value; null when undefined or when evaluation failed. */
  result: unknown;
  /** Lines printed by print() during this evaluation. */
  prints: string[];
  /** The agent's decision, after AllowRequestsFailingPolicy. */
  allowed: boolean;
  /** The policy's own decision, before AllowRequestsFailingPolicy. */
  policyAllowed: boolean;
  /** Why the policy refused the request (absent when it allowed it). */
  reason?: DenyReason;
  /** Error text for reason `error` / `invalid-result`. */
  error?: string;
  /** JSON Patch operations applied to the agent state by this request. */
  appliedOps: number;
}

export interface SessionOptions {
  /** Extra data merged into the data document after `{"pstate": {}}` (the --data option). */
  data?: unknown;
}

export class AgentSession {
  private current: { engine: PolicyEngine; policy: PolicySource; allowFailures: boolean };

  private constructor(
    policy: PolicySource,
    private readonly options: SessionOptions,
  ) {
    this.current = { engine: AgentSession.load(policy, options), policy, allowFailures: false };
    this.current.allowFailures = this.evaluate(
      ALLOW_FAILURES_RULE,
      {},
      { honourAllowFailures: false },
    ).policyAllowed;
  }

  static async create(policy: PolicySource, options: SessionOptions = {}): Promise<AgentSession> {
    return new AgentSession(policy, options);
  }

  /** The agent's `new_engine` + `add_policy`: a fresh engine, data `{"pstate": {}}`, the policy. */
  private static load(policy: PolicySource, options: SessionOptions): PolicyEngine {
    const engine = AgentSession.emptyEngine(options);
    AgentSession.addPolicy(engine, policy);
    return engine;
  }

  private static emptyEngine(options: SessionOptions): PolicyEngine {
    const engine = newEngine({ strictBuiltinErrors: false });
    engine.addData({ pstate: {} });
    if (options.data !== undefined) {
      try {
        engine.addData(options.data);
      } catch (err) {
        throw new ContrastError(`--data: cannot merge into the data document: ${errorMessage(err)}`);
      }
    }
    return engine;
  }

  private static addPolicy(engine: PolicyEngine, policy: PolicySource): void {
    try {
      engine.addPolicy(policy.name, policy.text);
    } catch (err) {
      throw new ContrastError(`${policy.origin}: the policy does not compile: ${errorMessage(err)}`);
    }
  }

  get engine(): PolicyEngine {
    return this.current.engine;
  }

  get policy(): PolicySource {
    return this.current.policy;
  }

  /** Whether the policy's AllowRequestsFailingPolicy is true (refusals then ignored). */
  get allowFailures(): boolean {
    return this.current.allowFailures;
  }

  /**
   * An allowed SetPolicyRequest replaces the policy as the agent's `set_policy` does (rpc.rs checks
   * the request against the current policy first): a new engine, so the state starts over at
   * `{"pstate": {}}`, then the new policy, then AllowRequestsFailingPolicy is read from it. The
   * agent swaps in the new engine before adding the policy, so a policy that does not compile
   * leaves it with no policy at all (every later request undefined); the error is thrown here.
   */
  replacePolicy(text: string, name = 'SetPolicyRequest policy'): void {
    const policy: PolicySource = { text, name, origin: name };
    const engine = AgentSession.emptyEngine(this.options);
    this.current = {
      engine,
      policy: { text: '', name, origin: name },
      allowFailures: this.current.allowFailures,
    };
    AgentSession.addPolicy(engine, policy);
    this.current.policy = policy;
    this.current.allowFailures = this.evaluate(
      ALLOW_FAILURES_RULE,
      {},
      { honourAllowFailures: false },
    ).policyAllowed;
  }

  /** The data document the agent holds now (policy state under `pstate`). */
  state(): unknown {
    return this.engine.getData();
  }

  /** Judges one request; state changes (ops) are applied when the policy allows it. */
  evaluate(request: string, input: unknown, options: { honourAllowFailures?: boolean } = {}): Verdict {
    this.engine.setInput(input);
    let value: unknown;
    let evalError: string | undefined;
    try {
      value = this.engine.evalRule(`${PACKAGE_PATH}.${request}`);
    } catch (err) {
      evalError = errorMessage(err);
    }
    const prints = this.engine.takePrints();

    const verdict: Verdict = {
      request,
      result: value ?? null,
      prints,
      allowed: false,
      policyAllowed: false,
      appliedOps: 0,
    };
    if (evalError !== undefined) {
      verdict.result = null;
      verdict.reason = 'error';
      verdict.error = evalError;
    } else if (value === undefined) {
      verdict.reason = 'undefined';
    } else if (typeof value === 'boolean') {
      verdict.policyAllowed = value;
      if (!value) verdict.reason = 'false';
    } else if (isObject(value)) {
      this.judgeMetadataResponse(value, verdict);
    } else {
      verdict.reason = 'invalid-result';
      verdict.error = `the rule returned ${describeType(value)}, expected a boolean or {"allowed": ..., "ops": [...]}`;
    }
    // The agent's escape hatch covers only "no result" and "false"; evaluation errors, malformed
    // results and failing patches propagate as errors (`?`/`bail!` in allow_request) and still refuse.
    const ignorable = verdict.reason === 'undefined' || verdict.reason === 'false';
    verdict.allowed =
      verdict.policyAllowed || (options.honourAllowFailures !== false && this.allowFailures && ignorable);
    return verdict;
  }

  /**
   * Judges a request as `evaluate` does, then puts the agent state back as it was: what the agent
   * would decide, without the request having happened (tests of tampered variants, what-if checks).
   */
  probe(request: string, input: unknown, options: { honourAllowFailures?: boolean } = {}): Verdict {
    const saved = this.engine.getData();
    try {
      return this.evaluate(request, input, options);
    } finally {
      this.engine.setData(saved);
    }
  }

  /** Re-evaluates a request with tracing on, without applying state changes (for --explain). */
  trace(request: string, input: unknown): { value: unknown; trace: TraceEntry[]; error?: string } {
    this.engine.setInput(input);
    this.engine.enableTrace(true);
    try {
      const value = this.engine.evalRule(`${PACKAGE_PATH}.${request}`);
      return { value, trace: this.engine.takeTrace() };
    } catch (err) {
      return { value: undefined, trace: this.engine.takeTrace(), error: errorMessage(err) };
    } finally {
      this.engine.enableTrace(false);
      this.engine.takePrints();
    }
  }

  /** Evaluates a rule of the policy package without any request semantics (e.g. policy_data). */
  ruleValue(name: string): unknown {
    try {
      return this.engine.evalRule(`${PACKAGE_PATH}.${name}`);
    } catch {
      return undefined;
    } finally {
      this.engine.takePrints();
    }
  }

  private judgeMetadataResponse(value: Record<string, unknown>, verdict: Verdict): void {
    const allowed = value['allowed'];
    if (typeof allowed !== 'boolean') {
      verdict.reason = 'invalid-result';
      verdict.error = `the rule returned an object whose "allowed" is ${describeType(allowed)}, expected a boolean`;
      return;
    }
    const ops = value['ops'];
    if (ops !== undefined && ops !== null && !Array.isArray(ops)) {
      verdict.reason = 'invalid-result';
      verdict.error = `the rule returned "ops" as ${describeType(ops)}, expected a JSON Patch array`;
      return;
    }
    if (!allowed) {
      verdict.reason = 'false';
      return;
    }
    if (Array.isArray(ops) && ops.length > 0) {
      try {
        // structuredClone (not the library's JSON round trip) keeps big integers intact.
        const patched = applyPatch(
          structuredClone(this.engine.getData()),
          ops as Operation[],
          true,
          true,
        ).newDocument;
        this.engine.setData(patched);
        verdict.appliedOps = ops.length;
      } catch (err) {
        verdict.reason = 'error';
        verdict.error = `applying the rule's ops to the policy state failed: ${errorMessage(err).split('\n')[0]}`;
        return;
      }
    }
    verdict.policyAllowed = true;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Set) && !(v instanceof Map)
  );
}

function describeType(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Set) return 'a set';
  return `a ${typeof v}`;
}
