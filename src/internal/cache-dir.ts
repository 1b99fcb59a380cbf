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
