/**
 * An error meant for the user: the message names what was wrong and where, `hint` says what to do.
 * The CLI prints these without a stack trace; anything else is a bug and keeps its stack.
 */
export class ContrastError extends Error {
  readonly hint: string | undefined;
  readonly code: string;
  /** Process exit status when this ends the CLI; default `errorExitStatus()`. */
  readonly exitCode: number | undefined;

  constructor(
    message: string,
    options: { code?: string; hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ContrastError';
    this.code = options.code ?? 'ERROR';
    this.hint = options.hint;
    this.exitCode = options.exitCode;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let errorExit = 1;

/**
 * The exit status for user errors: 1, except in commands whose 1 means an answer (`policy diff`:
 * differ, `--check`: stale), which set 2 before they start.
 */
export function errorExitStatus(): number {
  return errorExit;
}
export function setErrorExitStatus(status: number): void {
  errorExit = status;
}
