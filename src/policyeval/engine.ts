// The Rego engine as this package uses it: the API of src/rego (agreed interface). Kept as a
// structural type so the replay logic depends on what it calls, not on the engine's internals.
import { Engine, type EngineOptions, type EvalLimits, type TraceEntry } from '../rego/index.js';

export type { EngineOptions, EvalLimits, TraceEntry };

export interface PolicyEngine {
  addPolicy(path: string, text: string): void;
  setData(data: unknown): void;
  addData(data: unknown): void;
  getData(): unknown;
  setInput(input: unknown): void;
  evalRule(path: string): unknown;
  evalQuery(query: string): Array<Record<string, unknown>>;
  takePrints(): string[];
  enableTrace(on: boolean): void;
  takeTrace(): TraceEntry[];
}

let processLimits: EvalLimits = {};

/**
 * Resource limits for the engines this process creates from now on, unless a caller passes its own
 * (`contrast policy eval --max-steps …` sets them once, before any session loads a policy).
 */
export function setEngineLimits(limits: EvalLimits): void {
  processLimits = { ...limits };
}

/** Creates an engine of src/rego. */
export function newEngine(options: EngineOptions = {}): PolicyEngine {
  return new Engine(options.limits === undefined ? { ...options, limits: processLimits } : options);
}
