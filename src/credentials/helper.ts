// Runs docker-credential-helpers (`docker-credential-<name> get|store|erase`) as real processes:
// address or JSON on stdin, JSON or an error message on stdout, exit status 1 on error.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { ContrastError } from '../internal/errors.js';
import { redact, registerSecret } from '../internal/log.js';

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;
const STDOUT_CAP = 1024 * 1024;
const STDERR_CAP = 64 * 1024;
const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';

export interface HelperContext {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Where the helper was configured, for error messages: `credHelpers in /x/config.json, key "k"`. */
  configuredBy: string;
}

export interface HelperCredential {
  username: string;
  secret: string;
}

/** The helper executable could not be found on PATH. */
export class HelperMissingError extends ContrastError {
  constructor(
    readonly helper: string,
    configuredBy: string,
  ) {
    super(
      `credential helper docker-credential-${helper} (${configuredBy}) is not installed: not found on PATH`,
      {
        code: 'HELPER_MISSING',
        hint: `install docker-credential-${helper}, or remove it from that config file`,
      },
    );
  }
}

class HelperFailedError extends ContrastError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'HELPER_FAILED', ...(hint === undefined ? {} : { hint }) });
  }
}

export function helperExecutable(name: string): string {
  return `docker-credential-${name}`;
}

/** Absolute path of docker-credential-<name> on the given PATH, or undefined. */
export function findHelper(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name === '' || name.includes('/') || name.includes('\\')) return undefined;
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue; // relative PATH entries would depend on the CWD
    const candidate = join(dir, helperExecutable(name));
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runProcess(
  file: string,
  arg: string,
  input: string,
  ctx: HelperContext,
  label: string,
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // Own process group, so that a timeout also kills whatever a helper script started.
    const child = spawn(file, [arg], { env: ctx.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      kill();
      finish(() =>
        reject(
          new HelperFailedError(
            `credential helper ${label} (${ctx.configuredBy}) did not answer within ${ctx.timeoutMs / 1000} s; it was stopped`,
            'a helper that waits for interactive input or a locked keychain cannot be used here; unlock it or log in again',
          ),
        ),
      );
    }, ctx.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.length > STDOUT_CAP) {
        kill();
        finish(() =>
          reject(
            new HelperFailedError(`credential helper ${label} (${ctx.configuredBy}) wrote more than 1 MiB`),
          ),
        );
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < STDERR_CAP) stderr += d;
    });
    child.on('error', (err) =>
      finish(() =>
        reject(
          new HelperFailedError(
            `credential helper ${label} (${ctx.configuredBy}) could not be run: ${err.message}`,
          ),
        ),
      ),
    );
    child.on('close', (code) => finish(() => resolvePromise({ code, stdout, stderr })));
    child.stdin.on('error', () => {
      // A helper that exits without reading stdin closes the pipe; its exit status tells the story.
    });
    child.stdin.end(input);
  });
}

async function run(name: string, action: string, input: string, ctx: HelperContext): Promise<RunResult> {
  const file = findHelper(name, ctx.env);
  if (file === undefined) throw new HelperMissingError(name, ctx.configuredBy);
  return runProcess(file, action, input, ctx, helperExecutable(name));
}

function failure(name: string, action: string, result: RunResult, ctx: HelperContext): HelperFailedError {
  const detail = [result.stdout.trim(), result.stderr.trim()].filter((s) => s !== '').join('; ');
  const message = redact(detail.length > 500 ? `${detail.slice(0, 500)}…` : detail);
  return new HelperFailedError(
    `credential helper ${helperExecutable(name)} ${action} (${ctx.configuredBy}) failed` +
      `${result.code === null ? ' (killed)' : ` with exit status ${result.code}`}${message ? `: ${message}` : ''}`,
  );
}

function field(obj: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

/** `get`: the credential for `address`, or null when the helper has none (its not-found answer). */
export async function helperGet(
  name: string,
  address: string,
  ctx: HelperContext,
): Promise<HelperCredential | null> {
  const result = await run(name, 'get', address, ctx);
  if (result.code !== 0) {
    if (result.stdout.trim() === NOT_FOUND_MESSAGE) return null;
    throw failure(name, 'get', result, ctx);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new HelperFailedError(
      `credential helper ${helperExecutable(name)} get (${ctx.configuredBy}) answered something that is not JSON`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HelperFailedError(
      `credential helper ${helperExecutable(name)} get (${ctx.configuredBy}) answered JSON that is not an object`,
    );
  }
  const obj = parsed as Record<string, unknown>;
  const username = field(obj, 'Username');
  const secret = field(obj, 'Secret');
  if (typeof secret === 'string') registerSecret(secret);
  if (typeof secret !== 'string' || secret === '') return null;
  return { username: typeof username === 'string' ? username : '', secret };
}

/** `store`: hands user and secret to the helper. */
export async function helperStore(
  name: string,
  address: string,
  credential: HelperCredential,
  ctx: HelperContext,
): Promise<void> {
  const input = JSON.stringify({
    ServerURL: address,
    Username: credential.username,
    Secret: credential.secret,
  });
  const result = await run(name, 'store', input, ctx);
  if (result.code !== 0) throw failure(name, 'store', result, ctx);
}

/** `erase`: false when the helper had nothing stored for the address. */
export async function helperErase(name: string, address: string, ctx: HelperContext): Promise<boolean> {
  const result = await run(name, 'erase', address, ctx);
  if (result.code === 0) return true;
  if (result.stdout.trim() === NOT_FOUND_MESSAGE) return false;
  throw failure(name, 'erase', result, ctx);
}
