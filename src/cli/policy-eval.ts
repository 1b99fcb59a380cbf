import { CommanderError, type Command } from 'commander';
import { terminalSafe } from '../internal/terminal.js';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import {
  AgentSession,
  ALLOW_FAILURES_RULE,
  evaluateQuery,
  formatExplanation,
  jsonStringify,
  loadPolicy,
  loadRequestLog,
  readDataOption,
  readJsonFile,
  replay,
  replayJson,
  toJsonValue,
  type FailedExpression,
  type Verdict,
} from '../policyeval/index.js';
import { setEngineLimits } from '../policyeval/engine.js';
import { DEFAULT_LIMITS, type EvalLimits } from '../rego/index.js';

/** Explanations quote the policy and the requests (files): shown without their control characters. */
const ml = { multiline: true };

interface EvalOptions {
  policy: string;
  query?: string;
  input?: string;
  replay?: string;
  data?: string;
  workload?: string;
  json?: boolean;
  explain?: boolean;
  maxSteps?: string;
  maxCollection?: string;
  maxDepth?: string;
  maxNesting?: string;
  timeout?: string;
}

const count = (n: number): string => n.toLocaleString('en-US');

export function registerPolicyEval(parent: Command): void {
  parent
    .command('eval')
    .description('Evaluate a Kata agent policy against an input or a recorded agent request log')
    .requiredOption(
      '--policy <file>',
      'policy: a .rego file, a Kubernetes YAML with the policy annotation, or initdata',
    )
    .option('--workload <kind/name>', 'which workload of the YAML to take the policy from')
    .option('--query <ref>', 'rule or query to evaluate, e.g. data.agent_policy.CreateContainerRequest')
    .option('--input <file>', 'JSON input for --query (- for stdin)')
    .option(
      '--replay <file>',
      'recorded agent request log (- for stdin) to judge request by request, keeping the agent state',
    )
    .option('--data <json>', 'extra data document: a JSON file, or inline JSON starting with {')
    .option('--json', 'machine-readable output')
    .option('--explain', 'for refused or undefined requests, show which expressions failed and why')
    .option(
      '--max-steps <n>',
      `evaluation steps per request or query (literals tried, solutions, builtin result elements; default ${count(DEFAULT_LIMITS.maxSteps)})`,
    )
    .option(
      '--max-collection <n>',
      `elements of one array, set or object built while evaluating (default ${count(DEFAULT_LIMITS.maxCollectionSize)})`,
    )
    .option(
      '--max-depth <n>',
      `nesting of rule and function calls (default ${count(DEFAULT_LIMITS.maxCallDepth)})`,
    )
    .option(
      '--max-nesting <n>',
      `nesting of arrays/objects in input and data documents (default ${count(DEFAULT_LIMITS.maxNesting)})`,
    )
    .option('--timeout <ms>', 'wall-clock time limit per request or query in milliseconds (default: none)')
    .addHelpText(
      'after',
      '\nExit status (like opa and grep): 0 when every request is allowed (--query: the result is neither false\n' +
        'nor undefined), 1 when one is refused, 2 on errors (unreadable or invalid policy, input or flags).' +
        '\nA policy that reaches a limit fails with an error naming the limit; recursive rules are' +
        '\nrefused when the policy is loaded (rego_recursion_error, as OPA does).',
    )
    // Usage errors are errors (2), not refusals (1); --help and --version stay 0.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_ERROR, err.code, err.message);
    })
    .action(async (opts: EvalOptions) => {
      try {
        await evalAction(opts);
      } catch (err) {
        if (err instanceof ContrastError && err.exitCode !== EXIT_ERROR) {
          throw new ContrastError(err.message, {
            code: err.code,
            exitCode: EXIT_ERROR,
            cause: err,
            ...(err.hint ? { hint: err.hint } : {}),
          });
        }
        throw err;
      }
    });
}

/** Exit statuses of `policy eval`. */
const EXIT_REFUSED = 1;
const EXIT_ERROR = 2;

/** Whether a --query result means "allowed": anything but false, undefined, or {allowed: false}. */
function queryAllows(result: unknown): boolean {
  if (result === undefined || result === false) return false;
  if (typeof result === 'object' && result !== null && 'allowed' in result) {
    return (result as { allowed: unknown }).allowed !== false;
  }
  return true;
}

async function evalAction(opts: EvalOptions): Promise<void> {
  {
    setEngineLimits(limitOptions(opts));
    if ((opts.replay === undefined) === (opts.query === undefined)) {
      throw new ContrastError('give either --replay <file> or --query <ref> with --input <file>');
    }
    if (opts.query !== undefined && opts.input === undefined) {
      throw new ContrastError('--query needs --input <file> (use --input - for stdin)');
    }
    if (opts.replay !== undefined && opts.input !== undefined) {
      throw new ContrastError('--input is for --query; a --replay log carries its own inputs');
    }
    const policy = loadPolicy(opts.policy, opts.workload === undefined ? {} : { workload: opts.workload });
    const data = opts.data === undefined ? undefined : readDataOption(opts.data);
    // Read the inputs before compiling so that a typo in a file name fails fast.
    const requests = opts.replay === undefined ? undefined : loadRequestLog(opts.replay);
    const input = opts.input === undefined ? undefined : readJsonFile('--input', opts.input);
    log.info(`policy: ${policy.origin} (${policy.text.length} bytes)`);
    const session = await AgentSession.create(policy, data === undefined ? {} : { data });
    if (session.allowFailures)
      log.warn(
        `${policy.origin}: AllowRequestsFailingPolicy is true: the agent allows requests the policy refuses`,
      );

    if (requests !== undefined) {
      const entries = replay(session, requests, { explain: opts.explain === true });
      if (opts.json) {
        process.stdout.write(jsonStringify(entries.map(replayJson), 2) + '\n');
      } else {
        const width = Math.max(...entries.map((e) => e.verdict.request.length));
        for (const [i, e] of entries.entries()) {
          const v = e.verdict;
          process.stdout.write(
            `${String(i + 1).padStart(3)}  ${v.allowed ? 'ALLOW' : 'DENY '}  ${v.request.padEnd(width)}  line ${e.line}${verdictNote(v)}\n`,
          );
          for (const p of v.prints) process.stdout.write(`       print: ${terminalSafe(p)}\n`);
          if (e.explanation)
            process.stdout.write(
              terminalSafe(formatExplanation(e.explanation, '       ').join('\n'), ml) + '\n',
            );
        }
      }
      // The agent evaluates AllowRequestsFailingPolicy as a setting when it loads the policy (the
      // recorded logs start with it); its `false` is not a refused request.
      const judged = entries.filter((e) => e.verdict.request !== ALLOW_FAILURES_RULE);
      const refused = judged.filter((e) => !e.verdict.allowed).length;
      log.result(`${judged.length} requests: ${judged.length - refused} allowed, ${refused} refused`);
      if (refused > 0) process.exitCode = EXIT_REFUSED;
      return;
    }

    const result = evaluateQuery(session, opts.query!, input, { explain: opts.explain === true });
    if (result.error) log.error(`${result.query}: ${result.error}`);
    if (opts.json) {
      const out: Record<string, unknown> = { result: toJsonValue(result.result), prints: result.prints };
      if (result.explanation) out['explain'] = toJsonValue(result.explanation);
      if (result.failures) out['explain'] = { failures: toJsonValue(result.failures) };
      process.stdout.write(jsonStringify(out, 2) + '\n');
    } else {
      for (const p of result.prints) process.stderr.write(`print: ${terminalSafe(p)}\n`);
      process.stdout.write(
        (result.result === undefined ? 'undefined' : jsonStringify(toJsonValue(result.result), 2)) + '\n',
      );
      if (result.explanation)
        process.stdout.write(terminalSafe(formatExplanation(result.explanation, '  ').join('\n'), ml) + '\n');
      if (result.failures)
        process.stdout.write(terminalSafe(formatFailures(result.failures).join('\n'), ml) + '\n');
    }
    if (result.error) process.exitCode = EXIT_ERROR;
    else if (!queryAllows(result.result === undefined ? undefined : toJsonValue(result.result)))
      process.exitCode = EXIT_REFUSED;
  }
}

/** Why a request got its verdict, when the ALLOW/DENY word alone does not say it. */
function verdictNote(v: Verdict): string {
  if (v.request === ALLOW_FAILURES_RULE) {
    return v.allowed ? '  (debug setting: refusals are ignored)' : '  (setting: refusals are enforced)';
  }
  if (v.allowed && !v.policyAllowed)
    return '  (refused by the policy, allowed by AllowRequestsFailingPolicy)';
  if (!v.allowed) return `  (${v.reason === 'error' || v.reason === 'invalid-result' ? v.error : v.reason})`;
  if (v.appliedOps > 0) return `  (state: ${v.appliedOps} op${v.appliedOps === 1 ? '' : 's'} applied)`;
  return '';
}

function formatFailures(failures: FailedExpression[]): string[] {
  return formatExplanation({ request: '', summary: 'the query did not hold', failures }, '  ');
}

/** --max-* and --timeout as engine limits; a value that is not a positive integer is an error */
function limitOptions(opts: EvalOptions): EvalLimits {
  const out: EvalLimits = {};
  const read = (flag: string, text: string | undefined, min: number): number | undefined => {
    if (text === undefined) return undefined;
    const t = text.replaceAll('_', '');
    const n = /^\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n < min)
      throw new ContrastError(`${flag} ${text}: expected a whole number of at least ${min}`);
    return n;
  };
  const steps = read('--max-steps', opts.maxSteps, 1);
  const coll = read('--max-collection', opts.maxCollection, 1);
  const depth = read('--max-depth', opts.maxDepth, 1);
  const nesting = read('--max-nesting', opts.maxNesting, 1);
  const timeout = read('--timeout', opts.timeout, 1);
  if (steps !== undefined) out.maxSteps = steps;
  if (coll !== undefined) out.maxCollectionSize = coll;
  if (depth !== undefined) out.maxCallDepth = depth;
  if (nesting !== undefined) out.maxNesting = nesting;
  if (timeout !== undefined) out.timeoutMs = timeout;
  return out;
}
