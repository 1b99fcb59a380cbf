// Commands whose exit status carries an answer (0 = same / up to date, 1 = differs / stale) must
// not report an error with 1 as well: for them every error, usage errors included, exits with 2.
import { CommanderError, type Command } from 'commander';
import { ContrastError, errorMessage } from '../internal/errors.js';

export const EXIT_ERROR = 2;

/** Usage errors of `cmd` (unknown flag, missing argument) exit with 2; --help still exits 0. */
export function usageErrorsExit2(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    throw err.exitCode === 0 ? err : new CommanderError(EXIT_ERROR, err.code, err.message);
  });
}

/** Runs `fn`; a user error it throws ends the CLI with status 2 instead of 1. */
export async function errorsExit2<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ContrastError)
      throw new ContrastError(err.message, {
        code: err.code,
        exitCode: EXIT_ERROR,
        cause: err,
        ...(err.hint !== undefined ? { hint: err.hint } : {}),
      });
    throw err instanceof Error ? err : new Error(errorMessage(err));
  }
}
