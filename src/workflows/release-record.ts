// The workspace's record of the Contrast release `generate` used (contrast-release.json), written
// only after a successful run so a failing first try leaves no stale choice behind.
import { readFile } from 'node:fs/promises';
import { recordPath, recordText, writeRecord } from '../release/record.js';
import type { Release } from '../release/release.js';

/** Records `release` in the workspace `ws` unless the record already says exactly that. */
export async function rememberRelease(ws: string | undefined, release: Release): Promise<void> {
  const current = await readFile(recordPath(ws), 'utf8').catch(() => '');
  if (current !== recordText(release)) await writeRecord(ws, release);
}
