// `login` / `logout`: write or remove Basic credentials where Docker would, keeping everything
// else in the file. Writes are atomic (temp file + rename) with mode 0600.
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../internal/atomic.js';
import { decodeUtf8Strict } from '../internal/utf8.js';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import { dockerConfigLocation, explicitAuthFile, jsonErrorLocation } from './config.js';
import {
  DEFAULT_HELPER_TIMEOUT_MS,
  helperErase,
  helperExecutable,
  HelperMissingError,
  helperStore,
  type HelperContext,
} from './helper.js';
import { dockerConfigKey, registryId, DOCKER_HUB } from './host.js';
import { matchingKeys } from './match.js';
import { forgetCredential } from './resolve.js';

export interface StoreOptions {
  env?: NodeJS.ProcessEnv;
  /** Write this file instead of the Docker config (`--authfile`). */
  authFile?: string;
  helperTimeoutMs?: number;
}

export interface StoreResult {
  registry: string;
  /** Config file written. */
  path: string;
  /** Key written in `auths` (Docker's spelling: `https://index.docker.io/v1/` for Docker Hub). */
  key: string;
  /** Set when the secret went to a credential helper (the file then holds a `{}` marker). */
  helper?: string;
  description: string;
}

export interface RemoveResult {
  registry: string;
  path: string;
  /** `auths` keys removed from the file. */
  removedKeys: string[];
  helper?: string;
  /** True when the helper had a credential and erased it. */
  helperErased: boolean;
}

/** Registry host or URL → registry id; `undefined`/'' means Docker Hub, as for `docker login`. */
export function loginRegistry(input: string | undefined): string {
  if (input === undefined || input.trim() === '') return DOCKER_HUB;
  return registryId(input);
}

interface ConfigFile {
  path: string;
  /** Where to write: the symlink target when the config is a symlink, as Docker does. */
  writePath: string;
  exists: boolean;
  document: Record<string, unknown>;
}

function targetFile(options: StoreOptions): { path: string; dir: string | undefined } {
  if (options.authFile !== undefined) return { path: explicitAuthFile(options.authFile), dir: undefined };
  const location = dockerConfigLocation(options.env ?? process.env);
  return { path: location.path, dir: location.fileOverride ? undefined : location.dir };
}

async function readConfigFile(path: string): Promise<ConfigFile> {
  let source: string;
  let writePath = path;
  try {
    writePath = await realpath(path);
    source = decodeUtf8Strict(path, await readFile(writePath));
  } catch (err) {
    if (err instanceof ContrastError) throw err; // not UTF-8: we would rewrite its bytes as U+FFFD
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { path, writePath: path, exists: false, document: {} };
    throw new ContrastError(`cannot read ${path}: ${errorMessage(err)}`, { code: 'CONFIG_UNREADABLE' });
  }
  if (source.trim() === '') return { path, writePath, exists: true, document: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (err) {
    throw new ContrastError(
      `${path} is not valid JSON (${jsonErrorLocation(source, err)}); not changing it`,
      {
        code: 'CONFIG_INVALID',
        hint: 'fix or remove the file, then try again',
      },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ContrastError(`${path} does not hold a JSON object; not changing it`, {
      code: 'CONFIG_INVALID',
    });
  }
  const document = parsed as Record<string, unknown>;
  for (const field of ['auths', 'credHelpers']) {
    const value = document[field];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new ContrastError(`${path}: "${field}" is not an object; not changing the file`, {
        code: 'CONFIG_INVALID',
      });
    }
  }
  return { path, writePath, exists: true, document };
}

async function writeConfigFile(file: ConfigFile, dir: string | undefined): Promise<void> {
  try {
    await mkdir(dir ?? dirname(file.writePath), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file.writePath, `${JSON.stringify(file.document, null, '\t')}\n`, { mode: 0o600 });
  } catch (err) {
    throw new ContrastError(`cannot write ${file.path}: ${errorMessage(err)}; nothing was changed`, {
      code: 'CONFIG_UNWRITABLE',
    });
  }
}

function helperFor(
  document: Record<string, unknown>,
  registry: string,
  path: string,
): { name: string; configuredBy: string; fromStore: boolean } | undefined {
  const helpers = (document['credHelpers'] ?? {}) as Record<string, unknown>;
  const key = matchingKeys(helpers, { registry }, false)[0];
  if (key !== undefined && typeof helpers[key] === 'string') {
    const name = helpers[key] as string;
    if (name === '') return undefined;
    return { name, configuredBy: `credHelpers in ${path}, key "${key}"`, fromStore: false };
  }
  const store = document['credsStore'];
  if (typeof store === 'string' && store !== '')
    return { name: store, configuredBy: `credsStore in ${path}`, fromStore: true };
  return undefined;
}

/**
 * Stores Basic credentials for a registry like `docker login -u`: through the configured credential
 * helper (credHelpers, else credsStore) with a `{}` marker in the file, or as `auth` in the file.
 */
export async function storeCredential(
  registryInput: string,
  credential: { username: string; password: string },
  options: StoreOptions = {},
): Promise<StoreResult> {
  registerSecret(credential.password);
  if (credential.username === '')
    throw new ContrastError('a username is required', { code: 'USERNAME_REQUIRED' });
  if (credential.password === '')
    throw new ContrastError('a password is required', { code: 'PASSWORD_REQUIRED' });
  const registry = loginRegistry(registryInput);
  const { path, dir } = targetFile(options);
  const file = await readConfigFile(path);
  const key = dockerConfigKey(registry);
  const auths = (file.document['auths'] ?? {}) as Record<string, unknown>;
  file.document['auths'] = auths;

  const helper = helperFor(file.document, registry, path);
  let result: StoreResult;
  if (helper !== undefined) {
    const ctx: HelperContext = {
      env: options.env ?? process.env,
      timeoutMs: options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS,
      configuredBy: helper.configuredBy,
    };
    await helperStore(helper.name, key, { username: credential.username, secret: credential.password }, ctx);
    auths[key] = {};
    result = {
      registry,
      path,
      key,
      helper: helper.name,
      description: `${helperExecutable(helper.name)} (${helper.configuredBy}), marker in ${path}, key "${key}"`,
    };
  } else {
    const auth = Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64');
    registerSecret(auth);
    auths[key] = { auth };
    result = { registry, path, key, description: `${path}, key "${key}"` };
  }
  await writeConfigFile(file, dir);
  forgetCredential(registry);
  return result;
}

/**
 * Removes a registry's credentials like `docker logout`: every host-level `auths` key of that
 * registry in the file (namespaced Podman keys stay), and the helper's copy when one is configured.
 */
export async function removeCredential(
  registryInput: string,
  options: StoreOptions = {},
): Promise<RemoveResult> {
  const registry = loginRegistry(registryInput);
  const { path, dir } = targetFile(options);
  const file = await readConfigFile(path);
  const result: RemoveResult = { registry, path, removedKeys: [], helperErased: false };
  if (!file.exists) return result;

  const helper = helperFor(file.document, registry, path);
  if (helper !== undefined) {
    result.helper = helper.name;
    const ctx: HelperContext = {
      env: options.env ?? process.env,
      timeoutMs: options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS,
      configuredBy: helper.configuredBy,
    };
    try {
      result.helperErased = await helperErase(helper.name, dockerConfigKey(registry), ctx);
    } catch (err) {
      if (!(err instanceof HelperMissingError && helper.fromStore)) throw err;
      log.warn(`${err.message}; removing the entries in ${path} only`);
    }
  }

  const auths = file.document['auths'] as Record<string, unknown> | undefined;
  if (auths !== undefined) {
    for (const key of matchingKeys(auths, { registry }, false)) {
      delete auths[key];
      result.removedKeys.push(key);
    }
  }
  if (result.removedKeys.length > 0) await writeConfigFile(file, dir);
  forgetCredential(registry);
  return result;
}
