// When V8 compiles optimized code (issue 15). Node 20's V8 (11.x) has TurboFan as its only optimizing
// tier and tiers up after a small budget: a warm `generate` had V8's threads compile 67–71 functions
// (mostly the yaml parser's) with ~0.5 s of CPU (`--trace-opt`), most of it too late to pay back in a
// run of under half a second. With an 8× budget 11–14 are compiled. But V8's flags are per process,
// and a changed flag also makes V8 refuse Node's embedded code cache for its own modules (a worker
// thread then starts in ~67 ms instead of ~36 ms). So:
// - the CLI loads Node's modules it requires first (`loadFirst`: loading the bundle's 25 took 33–40 ms
//   with the flag changed against 12–15 ms, and a warm `generate` 0.33 s against 0.315 s), then
//   raises the budget (`raiseTierUpBudget`);
// - it puts the default back while a layer worker starts (`defaultTierUpBudget`: the flags then match
//   Node's cache again) and raises it again once every worker started has loaded its modules
//   (`restoreTierUpBudget`);
// - it raises it before it stores its own code cache, whose data V8 ties to the flags.
// Node 22+ (V8 12+) tiers through Maglev by invocation counts; raising those showed no gain: left
// alone, as is a budget the user set.
//
// The same goes for WebAssembly: undici parses HTTP with llhttp compiled to wasm, and V8 11.3's
// dynamic tiering spends its budget within the first response, then compiles llhttp's functions
// with TurboFan in the background: ~85 ms of CPU after one request (`perf`: WasmCompilationUnit →
// ExecuteTurbofanWasmCompilation; Node 24: none), for a parser that only reads headers and frames
// bodies. With a budget no CLI run spends (`--wasm-tiering-budget`), llhttp stays in Liftoff's code:
// 64 MiB of blobs in 3 streams took 270–300 ms of CPU before, 160–190 ms after. Both budgets are
// raised and put back together.

/**
 * The default of Node 20's V8, 11.3 (`node --v8-options`), and the raised budget. Other V8 versions
 * are left alone: restoring a default that is not theirs would not give Node's code cache back.
 */
const DEFAULT_BUDGET = 67584;
const RAISED_BUDGET = 8 * DEFAULT_BUDGET;
const DEFAULT_WASM_BUDGET = 1_800_000;
const RAISED_WASM_BUDGET = 2_000_000_000;

function applies(): boolean {
  return (
    process.versions.v8.startsWith('11.3.') &&
    !process.execArgv.some((a) => /^--(?:interrupt|wasm-tiering)-budget/.test(a))
  );
}

let current = DEFAULT_BUDGET;

/** The WebAssembly budget that goes with an interrupt budget: both are raised or default together. */
function wasmBudgetWith(budget: number): number {
  return budget === DEFAULT_BUDGET ? DEFAULT_WASM_BUDGET : RAISED_WASM_BUDGET;
}

function setBudget(budget: number): void {
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString(`--interrupt-budget=${budget}`);
  v8.setFlagsFromString(`--wasm-tiering-budget=${wasmBudgetWith(budget)}`);
  current = budget;
}

/** Whether the CLI asked for the raised budget (a library caller never does). */
let wanted = false;

/**
 * The CLI's start, before any of its code runs, and again before it stores its code cache.
 * `loadFirst`: Node's modules to load while Node's code cache for them still applies.
 */
export function raiseTierUpBudget(loadFirst: readonly string[] = []): void {
  if (!applies()) return;
  wanted = true;
  for (const name of loadFirst) process.getBuiltinModule(`node:${name}`);
  setBudget(RAISED_BUDGET);
}

/**
 * Once every layer worker started has loaded its modules: the budget the CLI asked for, if it did.
 * The default served only the workers' start-up; left in place, it had V8 optimize the rest of the
 * main thread's run (TurboFan 247 → 104 ms of CPU in a cold `generate`, 285 → 154 ms on the 165 MiB
 * layer, whose main thread is ~90% idle; cold `generate` CPU −25 to −50 ms, 20 pairs twice).
 */
export function restoreTierUpBudget(): void {
  if (wanted && applies()) setBudget(RAISED_BUDGET);
}

/** The budget this module last set (tests); undefined where it sets none. */
export function tierUpBudget(): number | undefined {
  return applies() ? current : undefined;
}

/** The WebAssembly tiering budget this module last set (tests); undefined where it sets none. */
export function wasmTieringBudget(): number | undefined {
  return applies() ? wasmBudgetWith(current) : undefined;
}

/**
 * Before a layer worker thread starts. Where the budget was never raised (a library caller), setting
 * the default changes nothing.
 */
export function defaultTierUpBudget(): void {
  if (applies()) setBudget(DEFAULT_BUDGET);
}
