// Which keys of an `auths` or `credHelpers` map apply to a lookup, best first.
import { dockerConfigKey, parseConfigKey, type CredentialTarget } from './host.js';

/**
 * Keys of `map` that apply to the target, in the order they are tried:
 * 1. Podman namespaced keys (`host/a/b`) covering the repository, most specific first;
 * 2. host-level keys for the same registry id (scheme, path and Docker Hub spelling folded),
 *    the exact spelling first (`host[:port]`, or Docker's Hub key), then lexicographically —
 *    deterministic where Docker and the crate depend on map order.
 * A namespaced key never applies to other repositories of its registry, nor to a registry-only lookup.
 */
export function matchingKeys(
  map: Record<string, unknown>,
  target: CredentialTarget,
  namespaced = true,
): string[] {
  const scoped: Array<{ key: string; depth: number }> = [];
  const hostLevel: string[] = [];
  for (const key of Object.keys(map)) {
    const parsed = parseConfigKey(key);
    if (parsed.registry !== target.registry) continue;
    if (parsed.namespace === undefined) {
      hostLevel.push(key);
    } else if (
      namespaced &&
      target.path !== undefined &&
      (target.path === parsed.namespace || target.path.startsWith(`${parsed.namespace}/`))
    ) {
      scoped.push({ key, depth: parsed.namespace.split('/').length });
    }
  }
  scoped.sort((a, b) => b.depth - a.depth || compare(a.key, b.key));
  const exact = [dockerConfigKey(target.registry), target.registry];
  const rank = (key: string): number => {
    const i = exact.indexOf(key.trim().toLowerCase());
    return i === -1 ? exact.length : i;
  };
  hostLevel.sort((a, b) => rank(a) - rank(b) || compare(a, b));
  return [...scoped.map((s) => s.key), ...hostLevel];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
