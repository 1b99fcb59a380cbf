// Commands whose exit status carries an answer (0 = same / up to date, 1 = differs / stale) must
// not report an error with 1 as well: for them every error, usage errors included, exits with 2.
import { CommanderError, type Command } from 'commander';
import { setErrorExitStatus } from '../internal/errors.js';
import { log } from '../internal/log.js';
import type { StaleEntry } from '../review/check.js';

export const EXIT_ERROR = 2;

/** Usage errors of `cmd` (unknown flag, missing argument) exit with 2; --help still exits 0. */
export function usageErrorsExit2(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    throw err.exitCode === 0 ? err : new CommanderError(EXIT_ERROR, err.code, err.message);
  });
}

/** From now on a user error ends the CLI with status 2 (for commands whose 1 is an answer). */
export function errorsExit2(): void {
  setErrorExitStatus(EXIT_ERROR);
}

/** Ends a `--check` run: each stale output on stderr and status 1, or a one-line all-clear. */
export async function reportCheck(stale: StaleEntry[], what: string): Promise<void> {
  if (stale.length === 0) {
    log.result(`✔️ ${what} up to date`);
    return;
  }
  // Loaded only when there is something to report: it brings the Rego engine along (see generate).
  const { formatStale } = await import('../review/check.js');
  process.stderr.write(formatStale(stale));
  const files = new Set(stale.map((s) => s.file)).size;
  log.error(
    `${files} file${files === 1 ? '' : 's'} not up to date: run the command without --check and commit the result`,
  );
  process.exitCode = 1;
}
