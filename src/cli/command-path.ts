// Which command a command line runs, read before anything is loaded: main.ts loads only that
// command's module, and launch.ts picks that command's code cache.

/** Global options that take a value (so the value is not taken for a command name). */
const GLOBAL_VALUE_OPTIONS = new Set(['--log-level', '--workspace-dir']);

/** The operands before the first option of a command: `['policy', 'generate']` for `policy generate -o x f`. */
export function commandPath(args: string[]): string[] {
  const out: string[] = [];
  let limit = 2;
  for (let i = 0; i < args.length && out.length < limit; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (out.length === 0 && GLOBAL_VALUE_OPTIONS.has(a)) i++;
      if (out.length > 0) break;
      continue;
    }
    out.push(a);
    if (out.length === 1 && a === 'help') limit = 3; // `contrast help policy generate`
  }
  return out[0] === 'help' ? out.slice(1) : out;
}

/** The command `argv` (process.argv) runs, as its words: `policy generate`; '' for `--version` or help. */
export function commandKey(argv: readonly string[]): string {
  return commandPath(argv.slice(2)).join(' ');
}
