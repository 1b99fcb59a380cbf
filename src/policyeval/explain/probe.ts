// Evaluations an explanation makes on the session's engine besides the traced request: the value of
// a ref as it reads inside a failed body, and the elements a failed `every` fails for. Neither
// changes the agent state; both answer undefined when they cannot say for sure (a wrong value or a
// wrong "fails for" line would be worse than none).
import { PACKAGE_PATH, type AgentSession } from '../agent.js';
import { everyParts, packageRules, policyModule, standaloneRef, unknownNames } from './syntax.js';

/** Where a body's bindings are put in the input; no agent request has such a field. */
const BINDINGS_KEY = '__contrast_explain_bindings';
const PROBE_MODULE = '<explain probe>';
const PROBE_PACKAGE = 'contrast_explain_probe';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function inputWith(input: unknown, bindings: Record<string, unknown>): Record<string, unknown> {
  const base = typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {};
  return { ...base, [BINDINGS_KEY]: bindings };
}

/**
 * Evaluates a ref as it reads inside a rule body: its root may be a variable bound there
 * (`bindings`), `input`, `data`, or a rule of the policy package. Undefined on any failure.
 */
export function refValue(
  session: AgentSession,
  ref: string,
  input: unknown,
  bindings: Record<string, unknown>,
): unknown {
  const query = standaloneRef(
    ref,
    (name) => name in bindings,
    (name) => `input.${BINDINGS_KEY}.${name}`,
    PACKAGE_PATH,
  );
  if (query === undefined) return undefined;
  const engine = session.engine;
  try {
    engine.setInput(inputWith(input, bindings));
    return engine.evalRule(query);
  } catch {
    return undefined;
  } finally {
    engine.takePrints();
  }
}

/**
 * For a failed `every` expression (the engine reports the `every` as a whole), the elements for
 * which its body does not hold. A probe module in the policy package re-runs the body per element
 * with the bindings of the failed body; undefined when that is not possible (the body reads a name
 * that is neither bound nor a package rule, or the text is not a plain `every`).
 */
export function everyFailures(
  session: AgentSession,
  text: string,
  input: unknown,
  bindings: Record<string, unknown>,
): Array<{ key?: unknown; value: unknown }> | undefined {
  const every = everyParts(text.trim());
  if (!every) return undefined;
  const { key, value, domain, body } = every;
  const rules = packageRules(policyModule(session.policy.name, session.policy.text));
  const known = new Set([...Object.keys(bindings), value, ...(key ? [key] : [])]);
  if (unknownNames(body, known, rules)?.length !== 0) return undefined;
  if (unknownNames(domain, new Set(Object.keys(bindings)), rules)?.length !== 0) return undefined;
  const names = Object.keys(bindings).filter((n) => IDENTIFIER.test(n) && n !== key && n !== value);
  const prelude = names.map((n) => `\t${n} := input.${BINDINGS_KEY}.${n}\n`).join('');
  const k = key ?? '__contrast_k';
  const module = [
    `package ${PACKAGE_PATH.slice('data.'.length)}`,
    'import future.keywords.every',
    'import future.keywords.if',
    'import future.keywords.in',
    `__contrast_probe_failing := [[${k}, ${value}] | some ${k}, ${value} in __contrast_probe_domain; not __contrast_probe_ok(${k}, ${value})]`,
    `__contrast_probe_domain := d if {\n${prelude}\td := ${domain}\n}`,
    `__contrast_probe_ok(${k}, ${value}) if {\n${prelude}\t${body}\n}`,
  ].join('\n');
  const engine = session.engine;
  try {
    engine.addPolicy(PROBE_MODULE, module);
    engine.setInput(inputWith(input, bindings));
    const failing = engine.evalRule(`${PACKAGE_PATH}.__contrast_probe_failing`);
    if (!Array.isArray(failing)) return undefined;
    return failing.map((pair) => {
      const [k2, v2] = pair as [unknown, unknown];
      return key === undefined ? { value: v2 } : { key: k2, value: v2 };
    });
  } catch {
    return undefined;
  } finally {
    engine.takePrints();
    // Replace the probe by an empty module: a probe that failed to compile must not stay in the
    // engine (it would break every later evaluation), and a working one must not linger either.
    try {
      engine.addPolicy(PROBE_MODULE, `package ${PROBE_PACKAGE}\n`);
    } catch {
      // nothing more to undo
    }
  }
}
