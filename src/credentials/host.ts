// Registry ids and the many spellings of them found in config files.
import { ContrastError } from '../internal/errors.js';
import { parseReference, type Reference } from '../reference/index.js';

/** A registry host, `host[:port]` or URL → registry id; throws ContrastError when it is not one. */
export function registryId(input: string): string {
  const registry = normalizeRegistryHost(input);
  if (!isValidRegistryId(registry)) {
    throw new ContrastError(`"${input}" is not a registry host[:port] or URL`, { code: 'INVALID_REGISTRY' });
  }
  return registry;
}

export const DOCKER_HUB = 'docker.io';
/** The key `docker login` writes for Docker Hub, and the address Docker hands to helpers. */
const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Config key or URL → registry id: scheme and path stripped, host lowercased, port kept,
 * Docker Hub spellings (`index.docker.io`, `registry-1.docker.io`, `https://index.docker.io/v1/`)
 * folded into `docker.io`. Returns '' for a key with no host.
 */
export function normalizeRegistryHost(key: string): string {
  let rest = key.trim().replace(SCHEME, '');
  const slash = rest.indexOf('/');
  if (slash !== -1) rest = rest.slice(0, slash);
  const host = rest.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** The key Docker writes for a registry in `auths` (and the address it passes to helpers). */
export function dockerConfigKey(registry: string): string {
  const id = normalizeRegistryHost(registry);
  return id === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : id;
}

export interface ParsedKey {
  /** Registry id of the key. */
  registry: string;
  /** Repository namespace of a Podman-style `host/ns/repo` key; undefined for host-level keys. */
  namespace?: string;
}

/**
 * A key with a scheme is a URL: only its host counts (`https://index.docker.io/v1/`). A key without
 * one but with a path is a Podman namespaced key that applies to that repository subtree only.
 */
export function parseConfigKey(key: string): ParsedKey {
  const trimmed = key.trim();
  if (SCHEME.test(trimmed)) return { registry: normalizeRegistryHost(trimmed) };
  const slash = trimmed.indexOf('/');
  if (slash === -1) return { registry: normalizeRegistryHost(trimmed) };
  const namespace = trimmed.slice(slash + 1).replace(/\/+$/, '');
  const registry = normalizeRegistryHost(trimmed.slice(0, slash));
  return namespace === '' ? { registry } : { registry, namespace };
}

const REGISTRY_ID =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[a-f0-9:]+\])(?::[0-9]+)?$/;

/** True for a syntactically valid registry id (lowercase `host[:port]`, IPv6 in brackets). */
function isValidRegistryId(registry: string): boolean {
  return REGISTRY_ID.test(registry);
}

/** What a lookup is for: a registry, and the repository path when an image was named. */
export interface CredentialTarget {
  registry: string;
  path?: string;
  reference?: Reference;
}

/**
 * Accepts an image reference, a registry host[:port], or a URL. A string without `/` is a registry
 * when it has a dot (`quay.io`, `10.0.0.5:5000`), is `localhost[:port]` or an IPv6 literal, or
 * ends in `/` (`registry:5000/`); otherwise it is an image on Docker Hub as `docker pull` reads it
 * (`nginx`, `redis:7`). A URL (`https://registry:5000`) always names a registry.
 */
export function credentialTarget(target: string | Reference): CredentialTarget {
  if (typeof target !== 'string') {
    return { registry: normalizeRegistryHost(target.domain), path: target.path, reference: target };
  }
  const text = target.trim();
  if (SCHEME.test(text)) return { registry: registryId(text) };
  const bare = text.endsWith('/') && !text.slice(0, -1).includes('/') ? text.slice(0, -1) : undefined;
  if (bare !== undefined) return { registry: registryId(bare) };
  if (
    !text.includes('/') &&
    (/^[^:]*\./.test(text) || /^localhost(:|$)/.test(text) || text.startsWith('['))
  ) {
    const registry = normalizeRegistryHost(text);
    if (isValidRegistryId(registry)) return { registry };
  }
  const reference = parseReference(text);
  return { registry: normalizeRegistryHost(reference.domain), path: reference.path, reference };
}
