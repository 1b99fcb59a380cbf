/**
 * Leveled logging to stderr. stdout is reserved for command output (JSON must stay parseable).
 *
 * Secrets never reach a log line: callers never pass them, and as a second line of defence every
 * value registered with `registerSecret` is replaced by `***` in everything written here.
 */
import { terminalSafe } from './terminal.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LogSink {
  write(line: string): void;
}

const secrets = new Set<string>();
// The Go CLI's default (`--log-level warn`): a clean run prints only results, warnings and errors.
export const DEFAULT_LOG_LEVEL: LogLevel = 'warn';
let level: LogLevel = DEFAULT_LOG_LEVEL;
let sink: LogSink = { write: (line) => process.stderr.write(line) };

export function setLogLevel(next: LogLevel): void {
  level = next;
}

export function getLogLevel(): LogLevel {
  return level;
}

export function isLogLevel(value: string): value is LogLevel {
  return value in order;
}

/** Redirects log output (tests capture it to prove no secret is written). Returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const prev = sink;
  sink = next;
  return prev;
}

/** Registers a secret so that it is masked if it ever appears in a log line. Short values are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Forgets every registered secret: what one in-process CLI run registered ends with it (tests). */
export function forgetSecrets(): void {
  secrets.clear();
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('***');
  }
  return out;
}

function emit(at: LogLevel, message: string): void {
  if (order[at] < order[level]) return;
  const prefix = at === 'info' ? '' : `${at}: `;
  // Messages quote servers and files: no control sequence of theirs reaches the terminal.
  sink.write(terminalSafe(redact(`${prefix}${message}`), { multiline: true }) + '\n');
}

export const log = {
  debug: (message: string) => emit('debug', message),
  info: (message: string) => emit('info', message),
  warn: (message: string) => emit('warn', message),
  error: (message: string) => emit('error', message),
  /** What to do about the error just logged: `hint: …`, shown whenever errors are. */
  hint: (message: string) => {
    if (order.error >= order[level]) sink.write(redact(`hint: ${message}`) + '\n');
  },
  /** A command's own result line on stderr (no prefix): shown at the default level, hidden by error/silent. */
  result: (message: string) => {
    if (order.warn >= order[level]) sink.write(redact(message) + '\n');
  },
  enabled: (at: LogLevel) => order[at] >= order[level],
};
