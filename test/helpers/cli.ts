// Runs the real CLI in a child process, the way a user does (compiled by npm test, else through tsx).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
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

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
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
