// Flags shared by the commands that analyse image layers (`image analyze`, `policy generate`): the
// layer cache and the progress display, parsed the same way everywhere.
import { join } from 'node:path';
import type { Command } from 'commander';
import { userCacheDir } from '../internal/cache-files.js';
import { ContrastError } from '../internal/errors.js';
import type { ProgressMode } from '../image/progress.js';

export interface LayerFlags {
  cache: string | boolean;
  progress: string | boolean;
}

const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'off'];

/** Adds --cache/--no-cache and --progress/--no-progress. */
export function addLayerOptions(cmd: Command): Command {
  return cmd
    .option(
      '--cache <path>',
      'layer cache file (default: $XDG_CACHE_HOME/contrast/layers-cache.json, ~/.cache/contrast/…; with --workspace-dir: in it)',
    )
    .option('--no-cache', 'neither read nor write the layer cache')
    .option('--progress <mode>', 'auto, tty, plain or off', 'auto')
    .option('--no-progress', 'no progress output on stderr');
}

/** The cache file (null: no cache; default in --workspace-dir) and the progress mode from the flags. */
export function layerSettings(
  flags: LayerFlags,
  cmd: Command,
): { cachePath: string | null; progress: ProgressMode } {
  const progress = flags.progress === false ? 'off' : String(flags.progress);
  if (!(PROGRESS_MODES as readonly string[]).includes(progress)) {
    throw new ContrastError(`--progress: unknown mode "${progress}"`, {
      hint: 'use auto, tty, plain or off',
    });
  }
  const workspace = cmd.optsWithGlobals()['workspaceDir'] as string | undefined;
  // Unless told otherwise the layer cache lives in the user's cache directory, never the working
  // directory (`generate` keeps Contrast's workspace default for compatibility).
  const cachePath =
    flags.cache === false
      ? null
      : typeof flags.cache === 'string'
        ? flags.cache
        : join(workspace ?? userCacheDir(), 'layers-cache.json');
  return { cachePath, progress: progress as ProgressMode };
}
