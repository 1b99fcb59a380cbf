// What a test compares to prove a command changed (or did not change) files: every file under a
// directory with its content hash and mode, and optionally its mtime (so a rewrite with the same
// bytes counts as a change too).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir`: relative path → "sha256 mode[ mtime]". */
export function snapshot(dir: string, opts: { mtime?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const st = statSync(p);
      const hash = createHash('sha256').update(readFileSync(p)).digest('hex');
      out[p.slice(dir.length + 1)] = opts.mtime
        ? `${hash} ${st.mode.toString(8)} ${st.mtimeMs}`
        : `${hash} ${(st.mode & 0o777).toString(8)}`;
    }
  };
  walk(dir);
  return out;
}
