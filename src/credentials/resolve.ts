// The lookup itself: which source is asked in which order, and what is recorded about each.
//
// Order (first source that yields a credential wins):
//   1. extraEntries (Kubernetes imagePullSecrets, programmatic credentials), in the order given;
//   2. with an explicit authFile: that file only (credHelpers → credsStore → auths), then anonymous;
//   3. DOCKER_AUTH_CONFIG (`auths` only);
//   4. the Docker config ($DOCKER_CONFIG dir or file, else ~/.docker/config.json):
//      credHelpers[registry] → credsStore → auths (credsStore "not found" falls back to auths);
//   5. the Podman chain: $REGISTRY_AUTH_FILE alone if set, else $XDG_RUNTIME_DIR/containers/auth.json,
//      ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json, ~/.dockercfg (credHelpers → auths each);
//   6. anonymous.
// Inside an `auths` map: namespaced keys (most specific first), then host-level keys (match.ts).
import { ContrastError } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import { infoOnce, warnOnce } from './notice.js';
import type { Reference } from '../reference/index.js';
import {
  dockerConfigLocation,
  envAuthConfig,
  explicitAuthFile,
  loadConfig,
  podmanAuthFiles,
  type LoadedConfig,
} from './config.js';
import { decodeEntry } from './entry.js';
import {
  DEFAULT_HELPER_TIMEOUT_MS,
  findHelper,
  helperExecutable,
  helperGet,
  HelperMissingError,
  type HelperContext,
  type HelperCredential,
} from './helper.js';
import { credentialTarget, dockerConfigKey, type CredentialTarget } from './host.js';
import { matchingKeys } from './match.js';
import type { AuthEntry, Credential, CredentialOptions, CredentialSource } from './types.js';

/** A helper's `Username` meaning "Secret is an identity (refresh) token". */
const TOKEN_USERNAME = '<token>';

interface Lookup {
  target: CredentialTarget;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  attempts: string[];
}

type Found = Omit<Credential, 'registry' | 'attempts'>;

// Helper answers are kept for the run (one `generate` may resolve the same registry for hundreds of
// images); forgetCredential() drops them, e.g. after a 401, so the helper is asked again.
const helperCache = new Map<string, { address: string; answer: Promise<HelperCredential | null> }>();

export function forgetCredential(registry?: string): void {
  const address = registry === undefined ? undefined : dockerConfigKey(registry);
  for (const [key, entry] of helperCache) {
    if (address === undefined || entry.address === address) helperCache.delete(key);
  }
}

function cachedHelperGet(
  name: string,
  address: string,
  ctx: HelperContext,
): Promise<HelperCredential | null> {
  const file = findHelper(name, ctx.env);
  if (file === undefined) return Promise.reject(new HelperMissingError(name, ctx.configuredBy));
  const key = `${file}\0${address}`;
  const cached = helperCache.get(key);
  if (cached !== undefined) return cached.answer;
  const answer = helperGet(name, address, ctx);
  helperCache.set(key, { address, answer });
  answer.catch(() => helperCache.delete(key));
  return answer;
}

/**
 * The credential to use for an image reference or a registry (`host[:port]` or URL), and where it
 * came from. Never throws for missing credentials (the answer is then `anonymous`); throws
 * ContrastError when a configured helper is missing or fails, or an explicit authFile is unusable.
 */
export async function resolveCredential(
  target: string | Reference,
  options: CredentialOptions = {},
): Promise<Credential> {
  const lookup: Lookup = {
    target: credentialTarget(target),
    env: options.env ?? process.env,
    timeoutMs: options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS,
    attempts: [],
  };
  const found = await search(lookup, options);
  const credential: Credential = {
    registry: lookup.target.registry,
    ...(found ?? {
      kind: 'anonymous',
      username: null,
      source: { type: 'none', description: 'no credential found: anonymous access' },
    }),
    attempts: lookup.attempts,
  };
  log.debug(`credential for ${credential.registry}: ${describeCredential(credential)}`);
  for (const a of lookup.attempts) log.debug(`  looked at ${a}`);
  return credential;
}

async function search(lookup: Lookup, options: CredentialOptions): Promise<Found | undefined> {
  for (const extra of options.extraEntries ?? []) {
    const found = fromAuths(extra.auths, lookup, extra.source.description, (key) => ({
      ...extra.source,
      key,
      description: `${extra.source.description}, key "${key}"`,
    }));
    if (found) return found;
  }

  if (options.authFile !== undefined) {
    const config = loadConfig(explicitAuthFile(options.authFile), 'authfile');
    if (config.data === undefined) {
      throw new ContrastError(`auth file ${config.path} given with --authfile is ${config.note}`, {
        code: 'AUTHFILE_UNUSABLE',
      });
    }
    return fromConfig(config, lookup, true);
  }

  const envConfig = envAuthConfig(lookup.env);
  if (envConfig !== undefined) {
    const found = fromAuths(envConfig.auths, lookup, 'DOCKER_AUTH_CONFIG', (key) => ({
      type: 'env',
      key,
      description: `DOCKER_AUTH_CONFIG, key "${key}"`,
    }));
    if (found) return found;
  }

  const docker = dockerConfigLocation(lookup.env);
  if (docker.fileOverride) {
    infoOnce(
      `DOCKER_CONFIG names a regular file: reading ${docker.path} as the config itself ` +
        '(Docker and genpolicy would look for config.json inside a directory)',
    );
  }
  const found = await fromConfig(loadConfig(docker.path, 'docker'), lookup, true);
  if (found) return found;

  for (const file of podmanAuthFiles(lookup.env)) {
    const found = await fromConfig(loadConfig(file.path, file.origin), lookup, false);
    if (found) return found;
  }
  return undefined;
}

async function fromConfig(
  config: LoadedConfig,
  lookup: Lookup,
  useCredsStore: boolean,
): Promise<Found | undefined> {
  const { data, path } = config;
  if (data === undefined) {
    lookup.attempts.push(`${path}: ${config.note}`);
    return undefined;
  }
  const { target } = lookup;
  const address = dockerConfigKey(target.registry);
  let skipStore = false;

  const helperKey = matchingKeys(data.credHelpers, target, false)[0];
  if (helperKey !== undefined) {
    const name = data.credHelpers[helperKey];
    const configuredBy = `credHelpers in ${path}, key "${helperKey}"`;
    if (typeof name !== 'string') {
      warnOnce(`${configuredBy} is not a string; ignoring it`);
    } else if (name === '') {
      skipStore = true; // Docker: an empty helper name means "this registry's secret is in the file"
      lookup.attempts.push(`${configuredBy}: empty, so the file's auths entry is used`);
    } else {
      const ctx: HelperContext = { env: lookup.env, timeoutMs: lookup.timeoutMs, configuredBy };
      const answer = await cachedHelperGet(name, address, ctx);
      const description = `${helperExecutable(name)} (${configuredBy})`;
      if (answer)
        return fromHelper(answer, { type: 'helper', path, key: helperKey, helper: name, description });
      lookup.attempts.push(`${description}: no credential for ${address}`);
    }
  }

  if (data.credsStore !== undefined && !skipStore) {
    const name = data.credsStore;
    const configuredBy = `credsStore in ${path}`;
    const description = `${helperExecutable(name)} (${configuredBy})`;
    if (!useCredsStore) {
      lookup.attempts.push(`${description}: not used (Podman auth files have no credsStore)`);
    } else {
      try {
        const ctx: HelperContext = { env: lookup.env, timeoutMs: lookup.timeoutMs, configuredBy };
        const answer = await cachedHelperGet(name, address, ctx);
        if (answer) return fromHelper(answer, { type: 'helper', path, helper: name, description });
        lookup.attempts.push(`${description}: no credential for ${address}`);
      } catch (err) {
        if (!(err instanceof HelperMissingError)) throw err;
        // A leftover credsStore (Docker Desktop uninstalled) must not block entries in the file.
        warnOnce(`${err.message}; continuing with the entries in ${path}`);
        lookup.attempts.push(`${description}: not installed`);
      }
    }
  }

  return fromAuths(data.auths, lookup, path, (key) => ({
    type: 'file',
    path,
    key,
    description: `${path}, key "${key}"`,
  }));
}

function fromAuths(
  auths: Record<string, AuthEntry | unknown>,
  lookup: Lookup,
  label: string,
  source: (key: string) => CredentialSource,
): Found | undefined {
  const keys = matchingKeys(auths, lookup.target);
  if (keys.length === 0) {
    lookup.attempts.push(`${label}: no entry for ${describeTarget(lookup.target)}`);
    return undefined;
  }
  for (const key of keys) {
    const decoded = decodeEntry(auths[key], `${label}, key "${key}"`);
    if (decoded.ok) return { ...decoded.value, source: source(key) };
    lookup.attempts.push(`${label}, key "${key}": ${decoded.reason}`);
  }
  return undefined;
}

function fromHelper(answer: HelperCredential, source: CredentialSource): Found {
  registerSecret(answer.secret);
  if (answer.username === TOKEN_USERNAME) {
    return { kind: 'identity-token', username: null, identityToken: answer.secret, source };
  }
  return { kind: 'basic', username: answer.username, password: answer.secret, source };
}

function describeTarget(target: CredentialTarget): string {
  return target.path === undefined ? target.registry : `${target.registry}/${target.path}`;
}

/** One line for people: kind, user and source; never a secret. */
export function describeCredential(credential: Credential): string {
  if (credential.kind === 'anonymous') return `anonymous (${credential.source.description})`;
  const user = credential.username === null ? '' : ` for user "${credential.username}"`;
  return `${credential.kind}${user} from ${credential.source.description}`;
}

/** Multi-line account of every place looked at, for "authentication failed" messages. */
export function describeAttempts(credential: Credential): string {
  return (credential.attempts ?? []).map((a) => `  - ${a}`).join('\n');
}
