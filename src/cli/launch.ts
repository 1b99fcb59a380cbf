// The installed entry point (bin/contrast.js → dist/cli/launch.js): runs the bundled CLI
// (dist/cli/main.cjs) through the compile cache in the user's cache directory. Like Node's own
// compile cache, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { userCacheDir } from '../internal/cache-files.js';
import { loadBundle } from '../internal/compile-cache.js';
import { raiseTierUpBudget } from '../internal/tiering.js';
import { commandKey } from './command-path.js';

type Cli = typeof import('./main.js');

// A digest of main.cjs and Node's modules it requires, written in by scripts/build.mjs (absent when
// this file runs from source).
declare const __CONTRAST_BUNDLE_ID__: string | undefined;
declare const __CONTRAST_BUILTINS__: string[] | undefined;
const buildId = typeof __CONTRAST_BUNDLE_ID__ === 'string' ? __CONTRAST_BUNDLE_ID__ : undefined;
const builtins = typeof __CONTRAST_BUILTINS__ === 'object' ? __CONTRAST_BUILTINS__ : [];

export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NODE_DISABLE_COMPILE_CACHE']) return undefined;
  try {
    return join(userCacheDir(env), 'compile-cache');
  } catch {
    return undefined; // no home directory to be found: run without the cache
  }
}

export async function launch(argv: string[]): Promise<number> {
  const command = commandKey(argv);
  // `--version` and help need few of Node's modules: loading them all would double their start-up.
  raiseTierUpBudget(command === '' ? [] : builtins);
  const file = fileURLToPath(new URL('./main.cjs', import.meta.url));
  // The bundle's `import.meta.url` is compiled to this name (scripts/build.mjs).
  const cli = loadBundle<Cli>(file, {
    dir: compileCacheDir(),
    variant: command,
    ...(buildId ? { buildId } : {}),
    globals: { __contrastImportMetaUrl: pathToFileURL(file).href },
  });
  const code = await cli.exports.main(argv);
  // A failed run may have stopped early: its code would make a thin cache.
  if (code === 0) {
    // The cached data is tied to V8's flags as they were at this run's start.
    raiseTierUpBudget();
    cli.save();
  }
  return code;
}
