// All-or-nothing output. Every file is first written to a temp file beside its target and fsynced;
// only then are the temp files renamed over the targets, in the order the caller gives (callers put
// the file that describes the others — manifest.json — last, so after a hard kill in the rename phase
// the manifest never describes YAML that is not there). SIGINT/SIGTERM while staging removes the temp
// files; during the renames the renames are finished first. Temp files a killed run left behind
// (`.NAME.contrast-PID-RANDOM.tmp` whose PID is gone) are removed by the next write to that directory.
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { lstat, open, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ContrastError } from './errors.js';

export interface AtomicWriteOptions {
  /** File mode for the new file; defaults to the existing file's mode, else 0o644. */
  mode?: number;
}

export interface StagedFile {
  path: string;
  data: string | Uint8Array;
  mode?: number;
}

/** Test hooks: let a test hold the process at a phase to kill it there for real. */
export interface AtomicHooks {
  /** Called once every temp file is written and fsynced, before the first rename. */
  staged?: (tmps: string[]) => Promise<void> | void;
  /** Called after the i-th rename (0-based). */
  renamed?: (index: number, path: string) => Promise<void> | void;
}

const TEMP_RE = /^\.(.+)\.contrast-(\d+)-[0-9a-f]{12}\.tmp$/;
// Names used before the PID was part of them; only removed when clearly abandoned.
const LEGACY_TEMP_RE = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;
const LEGACY_STALE_MS = 10 * 60 * 1000;

function tempName(target: string): string {
  return join(
    dirname(target),
    `.${basename(target)}.contrast-${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that earlier, killed runs left in `dir`: ours by name and whose process is gone
 * (or, for the older naming without a PID, untouched for 10 minutes). Returns the removed paths.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    const p = join(dir, name);
    let stale = false;
    if (m) stale = !pidAlive(Number(m[2]));
    else if (LEGACY_TEMP_RE.test(name)) {
      try {
        const st = await lstat(p);
        stale = st.isFile() && Date.now() - st.mtimeMs > LEGACY_STALE_MS;
      } catch {
        stale = false;
      }
    }
    if (!stale) continue;
    try {
      await rm(p, { force: true });
      removed.push(p);
    } catch {
      // Not ours to fight over (permissions): leave it.
    }
  }
  return removed;
}

/**
 * Start-of-run cleanup: removes stale temp files (see removeStaleTempFiles) in the directories of
 * the files a run may write, following symlinks to where the writes really go. Never fails the run.
 */
export async function removeStaleTempFilesFor(paths: Iterable<string>): Promise<void> {
  const dirs = new Set<string>();
  for (const p of paths) {
    if (p === '-') continue;
    try {
      dirs.add(dirname(await resolveWriteTarget(p)));
    } catch {
      // not writable anyway; the write itself reports it
    }
  }
  for (const d of dirs) await removeStaleTempFiles(d);
}

/**
 * The file a write to `path` must replace: symlinks are followed (the link stays a link and its
 * target gets the new content), up to 40 levels like the kernel; a dangling link's target is created.
 */
async function resolveWriteTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let i = 0; i < 40; i++) {
    let st;
    try {
      st = await lstat(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw err;
    }
    if (!st.isSymbolicLink()) {
      if (!st.isFile()) {
        throw new ContrastError(
          `${path}: not a regular file${current !== resolve(path) ? ` (links to ${current})` : ''}; it is never replaced`,
          { code: 'NOT_REGULAR_FILE', hint: 'write to a regular file, or use -o - for stdout' },
        );
      }
      return current;
    }
    current = resolve(dirname(current), await readlink(current));
  }
  throw new ContrastError(`${path}: too many levels of symbolic links`, { code: 'ELOOP' });
}

/**
 * Writes `data` to a temp file beside the target, fsyncs it and renames it over the target, so
 * readers see the old content or the new content, never half of it.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFilesAtomic([{ path, data, ...(options.mode === undefined ? {} : { mode: options.mode }) }]);
}

/**
 * Stages several files and renames them only once every one was written, in the given order: the
 * all-or-nothing output of `generate`. If staging fails or is interrupted nothing is renamed and the
 * temp files are removed.
 */
export async function writeFilesAtomic(
  files: ReadonlyArray<StagedFile>,
  hooks: AtomicHooks = {},
): Promise<void> {
  const targets: string[] = [];
  for (const f of files) targets.push(await resolveWriteTarget(f.path));
  for (const dir of new Set(targets.map((t) => dirname(t)))) await removeStaleTempFiles(dir);

  const staged: Array<{ tmp: string; path: string }> = [];
  let phase: 'staging' | 'renaming' | 'done' = 'staging';
  let pendingSignal: NodeJS.Signals | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const removeTemps = (): void => {
    for (const s of staged) {
      try {
        unlinkSync(s.tmp);
      } catch {
        // already renamed or gone
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase === 'renaming') {
      // A handful of renames: finishing them is quicker and leaves a consistent state.
      pendingSignal = signal;
      return;
    }
    interrupted = signal;
    removeTemps();
    unlisten();
    reraise(signal);
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  const unlisten = (): void => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  const checkInterrupted = (): void => {
    if (interrupted)
      throw new ContrastError(`interrupted (${interrupted}): no file was changed`, { code: 'INTERRUPTED' });
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    try {
      for (let i = 0; i < files.length; i++) {
        checkInterrupted();
        const f = files[i]!;
        const target = targets[i]!;
        let mode = f.mode;
        if (mode === undefined) {
          try {
            mode = (await stat(target)).mode & 0o7777;
          } catch {
            mode = 0o644;
          }
        }
        const tmp = tempName(target);
        const handle = await open(tmp, 'wx', mode);
        staged.push({ tmp, path: target });
        try {
          await handle.writeFile(f.data);
          await handle.chmod(mode);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await hooks.staged?.(staged.map((s) => s.tmp));
      checkInterrupted();
    } catch (err) {
      await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
      throw err;
    }
    phase = 'renaming';
    for (let i = 0; i < staged.length; i++) {
      await rename(staged[i]!.tmp, staged[i]!.path);
      await hooks.renamed?.(i, staged[i]!.path);
    }
    phase = 'done';
    await syncDirs(new Set(staged.map((s) => dirname(s.path))));
  } finally {
    unlisten();
    if (pendingSignal) reraise(pendingSignal);
  }
}

/** Makes the renames durable: fsync of each directory that got a new entry. */
async function syncDirs(dirs: Set<string>): Promise<void> {
  for (const dir of dirs) {
    try {
      const h = await open(dir, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    } catch {
      // Some file systems refuse fsync on directories; the rename itself is still atomic.
    }
  }
}

/**
 * Ends the process as the signal would have (our listeners are already removed), unless someone
 * else handles the signal too: then that handler decides; our part, the temp files, is done.
 */
function reraise(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 0) return;
  process.kill(process.pid, signal);
}
