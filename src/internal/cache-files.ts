// The user's cache directory and the files the caches keep (metadata, pings, compiled code). A cache
// file is only an optimisation: it is replaced whole (temp file + rename, no fsync: a torn file is a
// miss, never trusted), and read only when nobody but the user could have written it.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * The user's cache directory for contrast: `$XDG_CACHE_HOME/contrast`, else `~/.cache/contrast`
 * (XDG Base Directory spec: a relative XDG_CACHE_HOME is invalid and must be ignored).
 */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(env['HOME'] || homedir(), '.cache'), 'contrast');
}

/**
 * Whether a cache file (its `stat`) may be trusted: this user's, and nobody else may write it. A file
 * others could write may hold anything (a ping cache steering credentials, bytecode that runs).
 */
export function ownedByUserAlone(st: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** A temp file name beside `path`, unique to this process and call, for a write renamed into place. */
export function tempBeside(path: string): string {
  return `${path}.${process.pid}-${Math.random().toString(16).slice(2, 10)}.tmp`;
}

/** Replaces `path` whole with `data` (the directory must exist); the temp file goes on failure. */
export async function replaceCacheFile(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = tempBeside(path);
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** `replaceCacheFile` for a process about to exit (the code cache is saved after the run). */
export function replaceCacheFileSync(path: string, data: string | Uint8Array, mode: number): void {
  const tmp = tempBeside(path);
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
