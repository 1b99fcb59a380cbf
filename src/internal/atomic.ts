import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode for the new file; defaults to the existing file's mode, else 0o644. */
  mode?: number;
}

/**
 * Writes `data` to a temp file in the target's directory, fsyncs it and renames it over the target,
 * so readers see the old content or the new content, never half of it.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFilesAtomic([{ path, data, ...(options.mode === undefined ? {} : { mode: options.mode }) }]);
}

/**
 * Stages several files and renames them only once every one was written: the all-or-nothing
 * output of `generate`. If staging fails nothing is renamed and the temp files are removed.
 */
export async function writeFilesAtomic(
  files: ReadonlyArray<{ path: string; data: string | Uint8Array; mode?: number }>,
): Promise<void> {
  const staged: Array<{ tmp: string; path: string }> = [];
  try {
    for (const f of files) {
      let mode = f.mode;
      if (mode === undefined) {
        try {
          mode = (await stat(f.path)).mode & 0o7777;
        } catch {
          mode = 0o644;
        }
      }
      const tmp = join(dirname(f.path), `.${basename(f.path)}.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(tmp, 'wx', mode);
      staged.push({ tmp, path: f.path });
      try {
        await handle.writeFile(f.data);
        await handle.chmod(mode);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw err;
  }
  for (const s of staged) await rename(s.tmp, s.path);
}
