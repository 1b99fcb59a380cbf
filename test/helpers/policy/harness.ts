// Test harness: generated policies are judged by `AgentSession` (src/policyeval), the one model of
// the Kata agent's policy module: data seeded with {"pstate": {}}, the rule queried per request,
// {"allowed", "ops"} results applied to the state. No second agent simulation lives here, so a
// policy test cannot pass against an agent that behaves differently from the real one.
import { AgentSession, loadRequestLog } from '../../../src/policyeval/index.js';

export type AgentRequest = [string, Record<string, unknown>];

/** Reads a recorded request log with policyeval's reader (`["ep":"<Type>",{...}],` per line). */
export function loadRecorded(path: string): AgentRequest[] {
  return loadRequestLog(path).map((r) => [r.type, r.input as Record<string, unknown>]);
}

/** A fresh agent (initial state `{"pstate": {}}`) holding the policy. */
export async function agentFor(policyText: string, origin = 'generated policy'): Promise<AgentSession> {
  return AgentSession.create({ text: policyText, name: 'policy.rego', origin });
}

/** The agent's decision; state changes of an allowed request are kept, as in the VM. */
export function allows(agent: AgentSession, type: string, input: unknown): boolean {
  return agent.evaluate(type, input).allowed;
}

/** The agent's decision on a request that then did not happen (the state stays as it was). */
export function wouldAllow(agent: AgentSession, type: string, input: unknown): boolean {
  return agent.probe(type, input).allowed;
}

/** The agent's policy state (`data.pstate`). */
export function pstate(agent: AgentSession): Record<string, unknown> {
  return (agent.state() as Record<string, unknown>)['pstate'] as Record<string, unknown>;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
