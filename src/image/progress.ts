// Per-layer progress on stderr: redrawn byte bars on a TTY, one summary line per layer otherwise,
// or nothing. Never touches stdout (command output stays parseable).
import { log } from '../internal/log.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'off';

export interface ProgressTask {
  update(bytes: number): void;
  done(note?: string): void;
  fail(): void;
}

export interface Progress {
  task(label: string, total: number): ProgressTask;
  close(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const noop: ProgressTask = { update: () => {}, done: () => {}, fail: () => {} };

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'tty' : 'plain') : mode;
  // Bars on a terminal are progress, shown at the default level (warn); the plain summary lines are
  // log lines, shown from --log-level info on (the Go CLI prints none).
  const quiet = resolved === 'plain' ? !log.enabled('info') : !log.enabled('warn');
  if (resolved === 'off' || quiet) return { task: () => noop, close: () => {} };
  if (resolved === 'plain') return plainProgress();
  return ttyProgress(stream);
}

function plainProgress(): Progress {
  return {
    task(label, total) {
      const start = Date.now();
      return {
        update: () => {},
        done: (note) => {
          const secs = ((Date.now() - start) / 1000).toFixed(1);
          log.info(`${label}: ${formatBytes(total)}${note ? ` ${note}` : ` in ${secs}s`}`);
        },
        fail: () => {},
      };
    },
    close: () => {},
  };
}

interface Bar {
  label: string;
  total: number;
  bytes: number;
  state: 'run' | 'done' | 'fail';
  note?: string;
}

function ttyProgress(stream: NodeJS.WriteStream): Progress {
  const bars: Bar[] = [];
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const line = (b: Bar, width: number): string => {
    const frac = b.total > 0 ? Math.min(1, b.bytes / b.total) : 1;
    const filled = Math.round(frac * width);
    const status =
      b.state === 'fail' ? 'failed' : b.state === 'done' ? (b.note ?? 'done') : `${Math.floor(frac * 100)}%`;
    return `\x1b[2K${b.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${formatBytes(b.bytes)}/${formatBytes(b.total)} ${status}\n`;
  };
  const draw = (): void => {
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    // Finished bars are printed once, above the live ones, and then scroll away with the log.
    const running = bars.filter((b) => b.state === 'run');
    for (const b of bars) if (b.state !== 'run') out += line(b, width);
    for (const b of running) out += line(b, width);
    drawn = running.length;
    bars.splice(0, bars.length, ...running);
    stream.write(out);
    if (bars.length === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  const ensureTimer = (): void => {
    timer ??= setInterval(draw, 100);
    timer.unref();
  };
  return {
    task(label, total) {
      const bar: Bar = { label, total, bytes: 0, state: 'run' };
      bars.push(bar);
      ensureTimer();
      return {
        update: (n) => {
          bar.bytes = n;
        },
        done: (note) => {
          bar.bytes = bar.total;
          bar.state = 'done';
          if (note) bar.note = note;
          draw();
        },
        fail: () => {
          bar.state = 'fail';
          draw();
        },
      };
    },
    close: () => {
      if (bars.length > 0) draw();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
