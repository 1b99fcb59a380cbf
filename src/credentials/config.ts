// Finding and reading the config files that may hold registry credentials. Reading never fails:
// a missing file is empty, a broken one is reported (warning) and treated as empty, so one bad file
// cannot hide the others; every outcome is recorded for diagnostics.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { warnOnce } from './notice.js';
import type { AuthEntry } from './types.js';
import { readTextInputSync } from '../internal/files.js';

export interface ConfigData {
  auths: Record<string, unknown>;
  credHelpers: Record<string, unknown>;
  credsStore?: string;
}

export type ConfigOrigin = 'authfile' | 'docker' | 'podman' | 'legacy';

export interface LoadedConfig {
  path: string;
  origin: ConfigOrigin;
  /** undefined when the file is missing or unusable; `note` says why. */
  data: ConfigData | undefined;
  note: string;
}

function homeDir(env: NodeJS.ProcessEnv): string {
  const home = env['HOME'];
  return home !== undefined && home !== '' ? home : homedir();
}

export interface DockerConfigLocation {
  /** The config.json (or the regular file DOCKER_CONFIG names). */
  path: string;
  /** True when DOCKER_CONFIG names a regular file rather than a directory. */
  fileOverride: boolean;
  /** The directory that holds `path` and would be created for a login. */
  dir: string;
}

/**
 * DOCKER_CONFIG (non-empty) is a directory holding config.json, as for Docker; a regular file there
 * is read as the config itself (the Contrast guide's `DOCKER_CONFIG=$(mktemp)` script). Empty means
 * unset, never "relative to the current directory".
 */
export function dockerConfigLocation(env: NodeJS.ProcessEnv): DockerConfigLocation {
  const configured = env['DOCKER_CONFIG'];
  if (configured !== undefined && configured !== '') {
    const target = resolve(configured);
    if (isRegularFile(target)) return { path: target, fileOverride: true, dir: resolve(target, '..') };
    return { path: join(target, 'config.json'), fileOverride: false, dir: target };
  }
  const dir = join(homeDir(env), '.docker');
  return { path: join(dir, 'config.json'), fileOverride: false, dir };
}

/** An explicit auth file (`--authfile`); a directory means the config.json inside it. */
export function explicitAuthFile(path: string): string {
  const target = resolve(path);
  try {
    if (statSync(target).isDirectory()) return join(target, 'config.json');
  } catch {
    // missing: reported when read
  }
  return target;
}

/** The Podman / containers-image files after the Docker config, in their order. */
export function podmanAuthFiles(env: NodeJS.ProcessEnv): Array<{ path: string; origin: ConfigOrigin }> {
  const explicit = env['REGISTRY_AUTH_FILE'];
  if (explicit !== undefined && explicit !== '') return [{ path: resolve(explicit), origin: 'podman' }];
  const files: Array<{ path: string; origin: ConfigOrigin }> = [];
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime !== undefined && runtime !== '') {
    files.push({ path: join(runtime, 'containers/auth.json'), origin: 'podman' });
  }
  const configHome = env['XDG_CONFIG_HOME'];
  const configDir =
    configHome !== undefined && configHome !== '' ? configHome : join(homeDir(env), '.config');
  files.push({ path: join(configDir, 'containers/auth.json'), origin: 'podman' });
  files.push({ path: join(homeDir(env), '.dockercfg'), origin: 'legacy' });
  return files;
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Describes a JSON syntax error by line and column only: V8's messages quote the surrounding
 * text, which in these files is a secret.
 */
export function jsonErrorLocation(source: string, err: unknown): string {
  const match = /position (\d+)/.exec(errorMessage(err));
  if (!match) return 'JSON syntax error';
  const offset = Number(match[1]);
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `JSON syntax error at line ${line}, column ${column}`;
}

/** Parses a config document; throws a secret-free message on malformed input. */
function parseConfigText(source: string, origin: ConfigOrigin): ConfigData {
  if (source.trim() === '') return { auths: {}, credHelpers: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (err) {
    throw new Error(jsonErrorLocation(source, err));
  }
  if (!isObject(parsed)) throw new Error('the document is not a JSON object');
  // ~/.dockercfg is the bare auths map; tolerate a modern file saved under that name.
  if (origin === 'legacy' && !isObject(parsed['auths'])) return { auths: parsed, credHelpers: {} };
  const data: ConfigData = { auths: {}, credHelpers: {} };
  if (parsed['auths'] !== undefined) {
    if (!isObject(parsed['auths'])) throw new Error('"auths" is not an object');
    data.auths = parsed['auths'];
  }
  if (parsed['credHelpers'] !== undefined) {
    if (!isObject(parsed['credHelpers'])) throw new Error('"credHelpers" is not an object');
    data.credHelpers = parsed['credHelpers'];
  }
  if (typeof parsed['credsStore'] === 'string' && parsed['credsStore'] !== '')
    data.credsStore = parsed['credsStore'];
  return data;
}

export function loadConfig(path: string, origin: ConfigOrigin): LoadedConfig {
  let source: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      warnOnce(`${path} is a directory, not a config file; ignoring it`);
      return { path, origin, data: undefined, note: 'is a directory' };
    }
    source = readTextInputSync(path, 'credentials file');
  } catch (err) {
    if (err instanceof ContrastError) {
      warnOnce(`${err.message}; ignoring it`);
      return { path, origin, data: undefined, note: 'not a regular file' };
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, origin, data: undefined, note: 'not found' };
    const why = code === 'ENOTDIR' ? 'a parent of it is a regular file' : (code ?? errorMessage(err));
    warnOnce(`cannot read ${path} (${why}); ignoring it`);
    return { path, origin, data: undefined, note: `unreadable (${why})` };
  }
  try {
    const data = parseConfigText(source, origin);
    return { path, origin, data, note: 'read' };
  } catch (err) {
    warnOnce(`${path} is not a valid config file (${errorMessage(err)}); ignoring it`);
    return { path, origin, data: undefined, note: `invalid (${errorMessage(err)})` };
  }
}

/** DOCKER_AUTH_CONFIG: a JSON document whose `auths` map is consulted before any file. */
export function envAuthConfig(env: NodeJS.ProcessEnv): { auths: Record<string, AuthEntry> } | undefined {
  const value = env['DOCKER_AUTH_CONFIG'];
  if (value === undefined || value.trim() === '') return undefined;
  try {
    const data = parseConfigText(value, 'docker');
    return { auths: data.auths as Record<string, AuthEntry> };
  } catch (err) {
    warnOnce(`DOCKER_AUTH_CONFIG is not a valid config document (${errorMessage(err)}); ignoring it`);
    return undefined;
  }
}
