// Runner for the regorus YAML conformance cases (read from ../shared/rego-cases, never copied here).
// Used by conformance.test.ts; `node --import tsx src/rego/conformance.ts [dir] [filter]` prints
// the failures for debugging.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import { Engine, type EvalLimits } from './index.js';
import { compare, fromJSON, RObject, RSet, stringifyValue, type Value } from './value.js';

export interface CaseOutcome {
  id: string;
  ok: boolean;
  detail: string;
  /** marked `skip: true` upstream (regorus does not pass it either) */
  upstreamSkip: boolean;
}

interface RawCase {
  note: string;
  data?: unknown;
  input?: unknown;
  modules?: string[];
  query: string;
  want_result?: unknown;
  error?: string;
  no_result?: boolean;
  strict?: boolean;
  skip?: boolean;
  /** lines print() gathers, `file:line: text` */
  want_prints?: string[];
  /** regorus' execution timer: the engine's own, or the process-wide fallback */
  execution_timer?: { limit_ms: number; check_interval: number };
  global_execution_timer?: { limit_ms?: number; check_interval?: number; disable?: boolean };
  /** fake clock: every read advances it by this much */
  time_source?: { default_increment_ms: number };
}

/** the case's execution timer as our limits (timeoutMs, checks every `check_interval` steps) */
function timerLimits(c: RawCase): EvalLimits {
  const g = c.global_execution_timer;
  const t = c.execution_timer ?? (g && !g.disable && g.limit_ms !== undefined ? g : undefined);
  if (!t) return {};
  const inc = Number(c.time_source?.default_increment_ms ?? 0);
  let clock = 0;
  return {
    timeoutMs: Number(t.limit_ms),
    timeCheckInterval: Number(t.check_interval ?? 1),
    ...(inc > 0 ? { now: () => (clock += inc) } : {}),
  };
}

function listCaseFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** test-encoding of values: `set!`, `object!`, `#undefined` */
function processValue(v: Value): Value | undefined {
  if (v === '#undefined') return undefined;
  if (Array.isArray(v)) return v.map((x) => processValue(x) as Value);
  if (v instanceof RObject) {
    if (v.size === 1) {
      const s = v.getStr('set!');
      if (Array.isArray(s)) return RSet.of(s.map((x) => processValue(x) as Value));
      const o = v.getStr('object!');
      if (Array.isArray(o)) {
        const out = new RObject();
        for (const e of o) {
          if (e instanceof RObject)
            out.set(
              processValue(e.getStr('key') ?? null) as Value,
              processValue(e.getStr('value') ?? null) as Value,
            );
        }
        return out;
      }
    }
    const out = new RObject();
    for (const [k, x] of v.m.values()) {
      const px = processValue(x);
      if (px !== undefined) out.set(k, px);
    }
    return out;
  }
  return v;
}

function many(v: Value | undefined): Value[] | null {
  if (v instanceof RObject && v.size === 1) {
    const m = v.getStr('many!');
    if (Array.isArray(m)) return m;
  }
  return null;
}

/** YAML maps with non-string keys (e.g. `null: true`) become Rego objects with those keys */
function plain(j: unknown): unknown {
  if (j instanceof Map) {
    if ([...j.keys()].every((k) => typeof k === 'string')) {
      return Object.fromEntries([...j.entries()].map(([k, v]) => [k, plain(v)]));
    }
    return RObject.fromEntries([...j.entries()].map(([k, v]) => [fromJSON(plain(k)), fromJSON(plain(v))]));
  }
  if (Array.isArray(j)) return j.map(plain);
  return j;
}

function runCase(c: RawCase): { ok: boolean; detail: string } {
  const strict = c.strict ?? true;
  const results: (Value | undefined)[] = [];
  let prints: string[] = [];
  try {
    const engine = new Engine({ strictBuiltinErrors: strict, printLocations: true, limits: timerLimits(c) });
    // module names as the regorus harness gives them (they appear in print lines)
    (c.modules ?? []).forEach((m, i) => engine.addPolicy(`rego_${i}`, m));
    engine.setData(c.data ?? {});
    const inputV = c.input === undefined ? undefined : fromJSON(c.input);
    const inputs = inputV === undefined ? [undefined] : (many(inputV) ?? [inputV]);
    for (const inp of inputs) {
      engine.setInputValue(inp);
      for (const r of engine.evalQueryValues(c.query)) {
        const names = Object.keys(r.bindings);
        if (names.length) results.push(RObject.fromEntries(names.map((n) => [n, r.bindings[n]!])));
        else if (r.values.length === 1) results.push(r.values[0]);
        else results.push(r.values);
      }
    }
    prints = engine.takePrints();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (c.error !== undefined) {
      return msg.includes(c.error)
        ? { ok: true, detail: '' }
        : { ok: false, detail: `error mismatch: got ${msg} want ${c.error}` };
    }
    return { ok: false, detail: `unexpected error: ${msg}` };
  }
  if (c.error !== undefined)
    return {
      ok: false,
      detail: `expected error ${c.error}, got ${results.map((r) => (r === undefined ? 'undefined' : stringifyValue(r))).join(' | ')}`,
    };
  let expected: (Value | undefined)[];
  if (c.no_result) expected = [];
  else {
    const want = fromJSON(c.want_result ?? null);
    const m = many(want);
    expected = (m ?? [want]).map(processValue);
  }
  const show = (xs: (Value | undefined)[]): string =>
    xs.map((r) => (r === undefined ? 'undefined' : stringifyValue(r))).join(' | ');
  const same = (a: Value | undefined, b: Value | undefined): boolean =>
    a === undefined || b === undefined ? a === b : compare(a, b) === 0;
  if (expected.length !== results.length) {
    // the regorus harness keeps only the last result of a query
    if (expected.length === 1 && results.length > 1 && same(results[results.length - 1], expected[0]))
      return { ok: true, detail: '' };
    return { ok: false, detail: `got [${show(results)}] want [${show(expected)}]` };
  }
  for (let i = 0; i < expected.length; i++) {
    if (!same(results[i], expected[i]))
      return { ok: false, detail: `got [${show(results)}] want [${show(expected)}]` };
  }
  if (c.want_prints !== undefined && JSON.stringify(prints) !== JSON.stringify(c.want_prints))
    return {
      ok: false,
      detail: `prints: got ${JSON.stringify(prints)} want ${JSON.stringify(c.want_prints)}`,
    };
  return { ok: true, detail: '' };
}

export function runAll(dir: string, filter?: string): CaseOutcome[] {
  const out: CaseOutcome[] = [];
  for (const file of listCaseFiles(dir)) {
    const rel = relative(dir, file);
    if (filter && !rel.includes(filter)) continue;
    // serde_yaml is more lenient about flow-sequence indentation than the yaml package: keep the
    // document even when it reports indentation errors
    const parsed = YAML.parseDocument(readFileSync(file, 'utf8'), {
      intAsBigInt: true,
      strict: false,
      uniqueKeys: false,
    });
    const doc = plain(parsed.toJS({ maxAliasCount: -1, mapAsMap: true })) as { cases?: RawCase[] };
    for (const c of doc.cases ?? []) {
      const id = `${rel}#${c.note}`;
      let r: { ok: boolean; detail: string };
      try {
        r = runCase(c);
      } catch (e) {
        r = { ok: false, detail: `runner crash: ${(e as Error).stack}` };
      }
      out.push({ id, ...r, upstreamSkip: c.skip === true });
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/src\//, '/src/'))) {
  const dir = process.argv[2] ?? join(import.meta.dirname, '../../../shared/rego-cases');
  const res = runAll(dir, process.argv[3]);
  const failed = res.filter((r) => !r.ok);
  for (const f of failed)
    console.log(
      `FAIL${f.upstreamSkip ? ' (upstream skip)' : ''} ${f.id}\n    ${f.detail.slice(0, Number(process.env['DETAIL'] ?? 400))}`,
    );
  const counted = res.filter((r) => !r.upstreamSkip);
  console.log(
    `${counted.filter((r) => r.ok).length}/${counted.length} passed (excluding ${res.length - counted.length} upstream-skipped); ${res.length - failed.length}/${res.length} overall`,
  );
}
