// Token scopes (distribution scope.md): `type:name:action[,action]`. Names may contain a host:port,
// so the type splits at the first ':' and the actions at the last ':'.

export interface ResourceScope {
  type: string;
  name: string;
  actions: string[];
}

export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export function parseScope(scope: string): ResourceScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first).replace(/\(.*\)$/, ''); // the `(plugin)` class is deprecated
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((a) => a !== '');
  if (!name) return undefined;
  return { type, name, actions };
}

function formatScope(s: ResourceScope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

/** Splits a challenge's `scope` parameter, which may hold several space-separated scopes. */
export function splitScopes(value: string | undefined): string[] {
  return (value ?? '').split(' ').filter((s) => s !== '');
}

/**
 * Merges scope lists; the first list comes first (some registries only look at the first `scope`),
 * duplicate resources get the union of their actions. Unparseable scopes are kept verbatim.
 */
export function mergeScopes(first: readonly string[], rest: readonly string[]): string[] {
  const order: string[] = [];
  const byKey = new Map<string, ResourceScope | string>();
  for (const raw of [...first, ...rest]) {
    const parsed = parseScope(raw);
    const key = parsed ? `${parsed.type}:${parsed.name}` : raw;
    const existing = byKey.get(key);
    if (existing === undefined) {
      order.push(key);
      byKey.set(key, parsed ? { ...parsed, actions: [...parsed.actions] } : raw);
    } else if (parsed && typeof existing !== 'string') {
      for (const a of parsed.actions) if (!existing.actions.includes(a)) existing.actions.push(a);
    }
  }
  return order.map((k) => {
    const v = byKey.get(k) as ResourceScope | string;
    return typeof v === 'string' ? v : formatScope(v);
  });
}

/** True when every action of every scope in `needed` is already in `have`. */
export function scopesCover(have: readonly string[], needed: readonly string[]): boolean {
  const merged = mergeScopes(have, needed);
  const a = [...merged].sort().join(' ');
  const b = [...mergeScopes(have, [])].sort().join(' ');
  return a === b;
}

/** Cache key for a scope set: order-insensitive. */
export function scopeSetKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
