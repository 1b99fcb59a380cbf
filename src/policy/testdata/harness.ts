// Test harness: evaluates agent requests against a generated policy the way the Kata agent does
// (query data.agent_policy.<Type> with the request as input; apply returned JSON-patch ops to the
// data document when allowed).
import { readFileSync } from 'node:fs';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';

export type AgentRequest = [string, Record<string, unknown>];

/** Reads a recorded request log (`["ep":"<Type>",{...}],` per line). */
export function loadRecorded(path: string): AgentRequest[] {
  const out: AgentRequest[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const json = t.replace(/^\["ep":/, '[').replace(/,$/, '');
    out.push(JSON.parse(json) as AgentRequest);
  }
  return out;
}

interface EngineLike {
  addPolicy(path: string, text: string): void;
  setData(data: unknown): void;
  setInput(input: unknown): void;
  evalRule(path: string): unknown;
}

/** Loads our Rego engine, or returns the reason it cannot be used (tests then skip). */
export async function loadEngine(): Promise<{ create: () => EngineLike } | { skip: string }> {
  try {
    const mod = (await import('../../rego/index.js')) as { Engine?: new () => EngineLike };
    if (typeof mod.Engine !== 'function') return { skip: 'src/rego does not export Engine yet' };
    const Engine = mod.Engine;
    return { create: () => new Engine() };
  } catch (err) {
    return { skip: `the Rego engine (src/rego) is not usable yet: ${(err as Error).message}` };
  }
}

export class AgentSim {
  private data: Record<string, unknown> = {};
  constructor(
    private readonly engine: EngineLike,
    policyText: string,
  ) {
    engine.addPolicy('policy.rego', policyText);
    engine.setData(this.data);
  }

  /** Evaluates one request; returns whether it is allowed (applying state ops like the agent). */
  allows(type: string, input: unknown): boolean {
    this.engine.setInput(input);
    const v = this.engine.evalRule(`data.agent_policy.${type}`);
    if (typeof v === 'boolean') return v;
    if (v && typeof v === 'object' && 'allowed' in v) {
      const r = v as { allowed: boolean; ops?: Operation[] };
      if (r.allowed && r.ops) {
        this.data = fastJsonPatch.applyPatch(fastJsonPatch.deepClone(this.data), r.ops, true, false)
          .newDocument as Record<string, unknown>;
        this.engine.setData(this.data);
      }
      return r.allowed === true;
    }
    throw new Error(`${type}: unexpected policy result ${JSON.stringify(v)}`);
  }

  /** Evaluates without keeping state changes (for tampered variants). */
  wouldAllow(type: string, input: unknown): boolean {
    const saved = this.data;
    try {
      return this.allows(type, input);
    } finally {
      this.data = saved;
      this.engine.setData(saved);
    }
  }

  get state(): Record<string, unknown> {
    return this.data;
  }
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
