// Resource limits of one evaluation. Rego always terminates (no recursion: see recursion.ts), but a
// policy or an input can still ask for more than a process can give: `numbers.range(1, 1e9)` or a
// comprehension over a product of large ranges exhausts the V8 heap (a fatal error that no catch
// can turn into a message), and deeply nested documents exhaust the stack. The agent's engine has
// limits of its own (regorus: an optional execution timer and memory limit; serde_json refuses JSON
// nested deeper than 128 levels); ours make every such case a clean RegoLimitError instead.
import { RegoLimitError, type Loc } from './errors.js';

export interface EvalLimits {
  /**
   * Evaluation steps per query: a step is one literal tried or one solution of a body, and every
   * element of a collection a builtin returns counts as a step (so the work and memory of one query
   * stay bounded). Default 20,000,000 (a few seconds; the agent policies take well under 100,000).
   */
  maxSteps?: number;
  /** Elements of one collection built during evaluation (ranges, comprehensions, partial rules, builtin results). Default 1,000,000. */
  maxCollectionSize?: number;
  /** Nesting of rule and function calls. Default 100 (the agent policies need about 10; the JavaScript stack holds 100–200). */
  maxCallDepth?: number;
  /** Nesting of arrays/objects in input and data documents (and json/yaml.unmarshal). Default 1,000. */
  maxNesting?: number;
  /** Wall-clock milliseconds per query; 0 (the default) for no time limit. */
  timeoutMs?: number;
  /** Steps between two reads of the clock when timeoutMs is set. Default 1,000. */
  timeCheckInterval?: number;
  /** Clock in milliseconds (tests use a fake one). Default performance.now. */
  now?: () => number;
}

export const DEFAULT_LIMITS = {
  maxSteps: 20_000_000,
  maxCollectionSize: 1_000_000,
  maxCallDepth: 100,
  maxNesting: 1_000,
  timeoutMs: 0,
  timeCheckInterval: 1_000,
} as const;

export type ResolvedLimits = Required<Omit<EvalLimits, 'now'>> & { now: () => number };

export function resolveLimits(l: EvalLimits = {}): ResolvedLimits {
  const pick = (name: keyof typeof DEFAULT_LIMITS, min: number): number => {
    const v = l[name];
    if (v === undefined) return DEFAULT_LIMITS[name];
    if (!Number.isSafeInteger(v) || v < min)
      throw new RegoLimitError(`limit ${name} must be an integer of at least ${min}, got ${String(v)}`);
    return v;
  };
  return {
    maxSteps: pick('maxSteps', 1),
    maxCollectionSize: pick('maxCollectionSize', 1),
    maxCallDepth: pick('maxCallDepth', 1),
    maxNesting: pick('maxNesting', 1),
    timeoutMs: pick('timeoutMs', 0),
    timeCheckInterval: pick('timeCheckInterval', 1),
    now: l.now ?? (() => performance.now()),
  };
}

/** Clock and limits of one query. The step counter itself lives in the evaluator (hot path). */
export class Budget {
  private readonly start: number;

  constructor(readonly limits: ResolvedLimits) {
    this.start = limits.timeoutMs > 0 ? limits.now() : 0;
  }

  /** the step count at which `check` must run next */
  nextCheck(steps: number): number {
    const l = this.limits;
    return l.timeoutMs > 0 ? Math.min(l.maxSteps, steps + l.timeCheckInterval - 1) : l.maxSteps;
  }

  /** called when the step count passed the last `nextCheck`: enforces the step and time limits */
  check(steps: number): number {
    const l = this.limits;
    if (steps > l.maxSteps) {
      throw new RegoLimitError(
        `evaluation exceeded the limit of ${l.maxSteps} steps (maxSteps; raise it with --max-steps)`,
      );
    }
    if (l.timeoutMs > 0) {
      const elapsed = l.now() - this.start;
      if (elapsed > l.timeoutMs) {
        // regorus words it "execution exceeded time limit (elapsed=…ns, limit=…ns)"
        throw new RegoLimitError(
          `execution exceeded time limit (elapsed ${Math.round(elapsed)} ms, limit ${l.timeoutMs} ms; raise it with --timeout)`,
        );
      }
    }
    return this.nextCheck(steps);
  }

  /** a collection reached `size` elements */
  collection(size: number, what: string, loc?: Loc): void {
    if (size > this.limits.maxCollectionSize)
      throw collectionError(size, this.limits.maxCollectionSize, what, loc);
  }
}

export function collectionError(size: number, limit: number, what: string, loc?: Loc): RegoLimitError {
  return new RegoLimitError(
    `${what} would have ${size} elements, more than the limit of ${limit} (maxCollectionSize; raise it with --max-collection)`,
    loc,
  );
}

export function nestingError(limit: number): RegoLimitError {
  return new RegoLimitError(
    `document nested deeper than ${limit} levels (maxNesting; raise it with --max-nesting)`,
  );
}
