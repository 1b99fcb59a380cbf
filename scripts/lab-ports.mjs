// Picks the registry lab's ports for `npm test`: LAB_PORT_* from the environment win; otherwise the
// ports of this worktree's running lab (its lab.env) are reused; otherwise the first block of free
// ports from 5000 up. The lab uses A, B, C, TOKEN and TOKEN+10 (a second token server in `verify`).
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const LAB_PORT_NAMES = ['LAB_PORT_A', 'LAB_PORT_B', 'LAB_PORT_C', 'LAB_PORT_TOKEN'];

/** The ports a block starting at `base` occupies. */
export function blockPorts(base) {
  return [base, base + 1, base + 2, base + 3, base + 13];
}

/** Resolves true when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Reads LAB_PORT_* back from the lab.env that lab.sh wrote when it started. */
export function portsFromLabEnv(path) {
  if (!existsSync(path)) return undefined;
  const found = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^export (LAB_PORT_\w+)='(\d+)'$/.exec(line);
    if (m && LAB_PORT_NAMES.includes(m[1])) found[m[1]] = m[2];
    // lab.env files written before the ports were recorded: the URLs carry them.
    const url = /^export LAB_(REGISTRY_[ABC]|TOKEN_REALM)='\w+:\/\/[^:/]+:(\d+)/.exec(line);
    if (url) {
      const name = url[1] === 'TOKEN_REALM' ? 'LAB_PORT_TOKEN' : `LAB_PORT_${url[1].slice(-1)}`;
      found[name] ??= url[2];
    }
  }
  return LAB_PORT_NAMES.every((n) => found[n]) ? found : undefined;
}

/**
 * Returns LAB_PORT_* assignments. `running` says whether this state dir's lab is already up (its
 * ports are then kept, since its processes hold them).
 */
export async function pickLabPorts({
  env = process.env,
  labEnvFile,
  running = false,
  from = 5000,
  to = 6000,
  step = 20,
} = {}) {
  if (LAB_PORT_NAMES.some((n) => env[n])) {
    if (!LAB_PORT_NAMES.every((n) => env[n])) {
      throw new Error(`set all of ${LAB_PORT_NAMES.join(', ')} or none (the lab then picks free ports)`);
    }
    return Object.fromEntries(LAB_PORT_NAMES.map((n) => [n, env[n]]));
  }
  if (running && labEnvFile) {
    const kept = portsFromLabEnv(labEnvFile);
    if (kept) return kept;
  }
  for (let base = from; base + 13 < to; base += step) {
    let free = true;
    for (const p of blockPorts(base)) {
      if (!(await portFree(p))) {
        free = false;
        break;
      }
    }
    if (free) {
      return {
        LAB_PORT_A: String(base),
        LAB_PORT_B: String(base + 1),
        LAB_PORT_C: String(base + 2),
        LAB_PORT_TOKEN: String(base + 3),
      };
    }
  }
  throw new Error(`no free block of lab ports between ${from} and ${to}; set LAB_PORT_A/B/C/TOKEN`);
}
