// Which release a workspace targets, so a second `generate` (or `contrast --version`) uses the same one
// without the flag: `contrast-release.json` in the workspace directory (the current directory when
// --workspace-dir is not given), written atomically next to manifest.json.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../internal/atomic.js';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { loadRelease, type Release } from './release.js';

export const RECORD_FILE = 'contrast-release.json';

export interface ReleaseRecord {
  source: string;
  version: string;
  line: string;
}

export function recordPath(workspaceDir: string | undefined): string {
  return join(workspaceDir ?? '.', RECORD_FILE);
}

export async function readRecord(workspaceDir: string | undefined): Promise<ReleaseRecord | undefined> {
  const path = recordPath(workspaceDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ContrastError(`reading ${path}: ${errorMessage(err)}`, { code: 'BAD_RELEASE' });
  }
  try {
    const r = JSON.parse(text) as ReleaseRecord;
    if (typeof r.source !== 'string') throw new Error('"source" missing');
    return r;
  } catch (err) {
    throw new ContrastError(`${path}: ${errorMessage(err)}`, {
      code: 'BAD_RELEASE',
      hint: `delete it and pass --contrast-release <dir> again`,
    });
  }
}

export function recordText(release: Release): string {
  const r: ReleaseRecord = { source: release.source, version: release.version, line: release.line };
  return JSON.stringify(r, null, 2) + '\n';
}

export async function writeRecord(workspaceDir: string | undefined, release: Release): Promise<void> {
  await writeFileAtomic(recordPath(workspaceDir), recordText(release));
}

export const NO_RELEASE_MESSAGE =
  'no Contrast release selected: generate writes runtime classes, image pins and reference values of one ' +
  'Contrast release, and none is known';
export const NO_RELEASE_HINT =
  "pass --contrast-release <dir> with that release's runtime-<platform>.yml and coordinator.yml " +
  '(assets of https://github.com/edgelesssys/contrast/releases/<version>), image-replacements.txt and ' +
  'reference-values.json (embedded in the Go CLI of that release); the choice is recorded in ' +
  `${RECORD_FILE} of the workspace for later runs`;

/**
 * The release to use: the flag wins (and is recorded), else the workspace's record; undefined when
 * neither exists (the caller stops with NO_RELEASE_MESSAGE).
 */
export async function resolveRelease(
  flag: string | undefined,
  workspaceDir: string | undefined,
): Promise<{ release: Release; fromRecord: boolean } | undefined> {
  if (flag) return { release: await loadRelease(flag), fromRecord: false };
  const rec = await readRecord(workspaceDir);
  if (!rec) return undefined;
  try {
    return { release: await loadRelease(rec.source), fromRecord: true };
  } catch (err) {
    throw new ContrastError(
      `the release recorded in ${recordPath(workspaceDir)} (${rec.version} at ${rec.source}) cannot be read: ${errorMessage(err)}`,
      { code: 'BAD_RELEASE', hint: 'pass --contrast-release <dir> to select a release again' },
    );
  }
}
