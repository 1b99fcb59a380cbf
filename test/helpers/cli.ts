// Runs the real CLI the way a user does: `main()` of src/cli/main.ts with the given arguments, env,
// working directory and stdin, its stdout and stderr captured and its exit code returned.
//
// runCli runs it in this process: starting node for every call cost most of the suite's time. The
// process-wide things a CLI run reads or sets (process.stdout/stderr/stdin, process.env, the working
// directory, process.exitCode, the log level, registered secrets, notices said once, cached
// credential-helper answers) are set up fresh for each run and restored after it, so a run sees
// what a new process would. Runs never overlap (the test runner runs a file's tests one at a time;
// overlapping calls are refused, not silently serialised). runCliProcess starts a real process, for
// what only a process shows (start-up, exit status of the program, signals, a terminal); runCli
// uses it by itself for input on stdin (read from file descriptor 0) and for an env that node reads
// at start (NODE_EXTRA_CA_CERTS).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { forgetNotices } from '../../src/credentials/notice.js';
import { forgetCredential } from '../../src/credentials/resolve.js';
import { DEFAULT_LOG_LEVEL, forgetSecrets, setLogLevel } from '../../src/internal/log.js';
import { nodeEntryArgs } from './node-entry.js';
import { repoRoot } from './shared.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** src/cli/main.ts of the tree these tests run from (the compiled copy under npm test). */
export const cliEntry = join(import.meta.dirname, '../../src/cli/main.ts');

/** The node arguments that start the CLI (before the CLI's own). */
export const cliNodeArgs = nodeEntryArgs(cliEntry);

/** Environment variables node reads once at start-up: a run that changes them needs a process. */
const STARTUP_ENV = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_TLS_REJECT_UNAUTHORIZED'];

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = options.env;
  if (env && STARTUP_ENV.some((k) => env[k] !== process.env[k])) return runCliProcess(args, options);
  // stdin is read from file descriptor 0 (readFileSync(0)), which only a child process can be given.
  if (options.input !== undefined || args.includes('-')) return runCliProcess(args, options);
  return runCliInProcess(args, options);
}

class Capture extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

let running = false;

async function runCliInProcess(args: string[], options: CliOptions): Promise<CliResult> {
  if (running) throw new Error('runCli: in-process CLI runs must not overlap (use runCliProcess)');
  running = true;
  const stdout = new Capture();
  const stderr = new Capture();
  // Empty, as a child's stdin is: a run that reads stdin goes to a process (see runCli).
  const stdin = Readable.from([]);
  const streams = { stdout, stderr, stdin };
  const saved = Object.fromEntries(
    Object.keys(streams).map((k) => [k, Object.getOwnPropertyDescriptor(process, k)!]),
  );
  const savedEnv = process.env;
  const savedCwd = process.cwd();
  const savedExitCode = process.exitCode;
  try {
    for (const [k, v] of Object.entries(streams))
      Object.defineProperty(process, k, { value: v, configurable: true, enumerable: true, writable: true });
    // A copy: what the run sets in its environment ends with it.
    process.env = { ...(options.env ?? savedEnv) };
    process.chdir(options.cwd ?? repoRoot);
    process.exitCode = undefined;
    setLogLevel(DEFAULT_LOG_LEVEL);
    forgetSecrets();
    forgetNotices();
    forgetCredential();
    const code = await main(['node', 'contrast', ...args]);
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    for (const [k, d] of Object.entries(saved)) Object.defineProperty(process, k, d);
    process.env = savedEnv;
    process.chdir(savedCwd);
    process.exitCode = savedExitCode;
    setLogLevel(DEFAULT_LOG_LEVEL);
    running = false;
  }
}

/** Runs the CLI in a child process (compiled main.js under npm test, else through tsx). */
export function runCliProcess(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...cliNodeArgs, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
