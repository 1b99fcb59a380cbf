// The Rego engine as this package uses it: the API of src/rego (agreed interface). Kept as a
// structural type so the replay logic depends on what it calls, not on the engine's internals.
/** One rule body that produced no solution, at the expression where it stopped (src/rego). */
export interface TraceEntry {
  rule: string;
  file: string;
  line: number;
  col: number;
  text: string;
  bindings: Record<string, unknown>;
  depth: number;
}

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

export interface EngineOptions {
  strictBuiltinErrors?: boolean;
  regoV1?: boolean;
}

type EngineCtor = new (options?: EngineOptions) => PolicyEngine;
let ctor: EngineCtor | undefined;

/** Creates an engine of src/rego. Loaded lazily: `policy eval` is the only command that needs it. */
export async function createEngine(options: EngineOptions = {}): Promise<PolicyEngine> {
  if (!ctor) {
    const specifier = '../rego/index.js';
    const mod = (await import(specifier)) as { Engine: EngineCtor };
    ctor = mod.Engine;
  }
  return new ctor(options);
}
