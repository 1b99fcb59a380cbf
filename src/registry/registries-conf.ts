// containers-registries.conf(5) v2 subset: `[[registry]]` entries with `prefix`, `location`,
// `insecure`, `blocked` and `[[registry.mirror]]` (`location`, `insecure`, `pull-from-mirror`).
// It lets `docker.io/library/x` be fetched from a mirror while policies keep the original name.
// Drop-ins (containers-registries.conf.d(5)): `registries.conf.d/*.conf` beside the main file, read in
// lexical order; a later `[[registry]]` with the same prefix replaces the earlier one, new prefixes
// are added. Not supported: v1 syntax, `unqualified-search-registries` and aliases (we only take
// fully qualified, normalized references), credential helpers configured here.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { readTextInputSync } from '../internal/files.js';

export interface MirrorEntry {
  location: string;
  insecure: boolean;
  /** `all` (default), `digest-only` or `tag-only`, as in containers-registries.conf. */
  pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: MirrorEntry[];
  /** The file this entry came from (the main file or a drop-in). */
  source?: string;
}

export interface RegistriesConf {
  path: string | undefined;
  registries: RegistryEntry[];
  /** Drop-in files applied after the main file, in the order they were read. */
  dropIns?: string[];
}

/** One place to try, in order: mirrors first, then the (possibly rewritten) primary location. */
export interface PullSource {
  /** host[:port] to contact. */
  domain: string;
  /** repository path on that host. */
  path: string;
  insecure: boolean;
  mirror: boolean;
}

const emptyRegistriesConf: RegistriesConf = { path: undefined, registries: [] };

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new Error(`${where} must be a string`);
  return v;
}

function bool(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new Error(`${where} must be true or false`);
  return v;
}

export function parseRegistriesConf(text: string, path?: string): RegistriesConf {
  const where = path ?? 'registries.conf';
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ContrastError(`${where}: not valid TOML: ${errorMessage(err)}`, { code: 'REGISTRIES_CONF' });
  }
  const registries: RegistryEntry[] = [];
  try {
    const list = doc['registry'] ?? [];
    if (!Array.isArray(list)) throw new Error('`registry` must be an array of tables ([[registry]])');
    list.forEach((raw: unknown, i) => {
      const r = raw as Record<string, unknown>;
      const at = `[[registry]] #${i + 1}`;
      const location = r['location'] === undefined ? '' : str(r['location'], `${at} location`);
      const prefix = r['prefix'] === undefined ? location : str(r['prefix'], `${at} prefix`);
      if (!prefix) throw new Error(`${at} needs a location or a prefix`);
      const mirrorsRaw = r['mirror'] ?? [];
      if (!Array.isArray(mirrorsRaw)) throw new Error(`${at} mirror must be [[registry.mirror]] tables`);
      const mirrors = mirrorsRaw.map((m: unknown, j) => {
        const mm = m as Record<string, unknown>;
        const mat = `${at} mirror #${j + 1}`;
        const pull =
          mm['pull-from-mirror'] === undefined
            ? 'all'
            : str(mm['pull-from-mirror'], `${mat} pull-from-mirror`);
        if (pull !== 'all' && pull !== 'digest-only' && pull !== 'tag-only')
          throw new Error(`${mat} pull-from-mirror must be all, digest-only or tag-only`);
        return {
          location: str(mm['location'], `${mat} location`).replace(/\/+$/, ''),
          insecure: bool(mm['insecure'], `${mat} insecure`),
          pullFromMirror: pull,
        } satisfies MirrorEntry;
      });
      registries.push({
        prefix: prefix.replace(/\/+$/, ''),
        location: (location || prefix).replace(/\/+$/, ''),
        insecure: bool(r['insecure'], `${at} insecure`),
        blocked: bool(r['blocked'], `${at} blocked`),
        mirrorByDigestOnly: bool(r['mirror-by-digest-only'], `${at} mirror-by-digest-only`),
        mirrors,
        ...(path ? { source: path } : {}),
      });
    });
  } catch (err) {
    throw new ContrastError(`${where}: ${errorMessage(err)}`, { code: 'REGISTRIES_CONF' });
  }
  return { path, registries };
}

/** `*.conf` files (not directories) of a drop-in directory in lexical order; none when it is absent. */
function dropInFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw new ContrastError(`cannot read registries drop-in directory ${dir}: ${errorMessage(err)}`, {
      code: 'REGISTRIES_CONF',
    });
  }
  return entries
    .filter((e) => e.name.endsWith('.conf') && (e.isFile() || e.isSymbolicLink()))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(dir, name));
}

function readConf(file: string, hint: string | undefined): RegistriesConf {
  let text: string;
  try {
    text = readTextInputSync(file, 'registries config');
  } catch (err) {
    // A file that is there but is no regular file keeps its own message; a read error the old one.
    const cause = err instanceof ContrastError && err.code === 'READ' ? err.cause : err;
    throw new ContrastError(
      cause instanceof ContrastError
        ? cause.message
        : `cannot read registries config ${file}: ${errorMessage(cause)}`,
      {
        code: 'REGISTRIES_CONF',
        ...(hint ? { hint } : {}),
      },
    );
  }
  return parseRegistriesConf(text, file);
}

/** Applies drop-ins over a config: same prefix replaces the entry (whole table), new prefixes are added. */
function mergeRegistriesConf(base: RegistriesConf, dropIns: RegistriesConf[]): RegistriesConf {
  const registries = [...base.registries];
  const files = [...(base.dropIns ?? [])];
  for (const d of dropIns) {
    for (const entry of d.registries) {
      const i = registries.findIndex((r) => r.prefix === entry.prefix);
      if (i >= 0) registries[i] = entry;
      else registries.push(entry);
    }
    if (d.path) files.push(d.path);
  }
  return { path: base.path, registries, ...(files.length ? { dropIns: files } : {}) };
}

/**
 * Loads the config: explicit path, else CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf
 * when it exists. An explicitly named file that is missing is an error; the system default is optional.
 * Drop-ins: `registries.conf.d/` beside an explicit file; for the system default
 * `/etc/containers/registries.conf.d` then `$HOME/.config/containers/registries.conf.d`.
 */
export function loadRegistriesConf(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): RegistriesConf {
  const explicit = path ?? env['CONTAINERS_REGISTRIES_CONF'];
  const file = explicit ?? '/etc/containers/registries.conf';
  const dirs = explicit
    ? [join(dirname(file), 'registries.conf.d')]
    : [
        '/etc/containers/registries.conf.d',
        join(env['HOME'] || homedir(), '.config', 'containers', 'registries.conf.d'),
      ];
  const base =
    !explicit && !existsSync(file)
      ? emptyRegistriesConf
      : readConf(
          file,
          path ? 'check --registries-conf' : explicit ? 'check CONTAINERS_REGISTRIES_CONF' : undefined,
        );
  const dropIns = dirs.flatMap(dropInFiles).map((f) => readConf(f, undefined));
  return dropIns.length ? mergeRegistriesConf(base, dropIns) : base;
}

function prefixMatches(prefix: string, name: string): number {
  if (prefix.startsWith('*.')) {
    // wildcard: matches any subdomain of the host part
    const host = name.split('/')[0] ?? '';
    return host.endsWith(prefix.slice(1)) ? prefix.length : -1;
  }
  if (name === prefix || name.startsWith(`${prefix}/`)) return prefix.length;
  return -1;
}

/** The entry with the longest prefix matching `domain/path`. */
export function findRegistryEntry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLen = -1;
  for (const r of conf.registries) {
    const len = prefixMatches(r.prefix, name);
    if (len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

function splitName(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  return slash < 0
    ? { domain: name, path: '' }
    : { domain: name.slice(0, slash), path: name.slice(slash + 1) };
}

function rewrite(entry: RegistryEntry, location: string, name: string): string {
  if (entry.prefix.startsWith('*.')) return name; // wildcard entries cannot rewrite (as in c/image)
  return location + name.slice(entry.prefix.length);
}

/** Where to fetch `domain/path` from, in order. Throws when the registry is blocked. */
export function pullSources(
  conf: RegistriesConf,
  domain: string,
  path: string,
  byDigest: boolean,
): PullSource[] {
  const name = `${domain}/${path}`;
  const entry = findRegistryEntry(conf, name);
  if (!entry) return [{ domain, path, insecure: false, mirror: false }];
  if (entry.blocked) {
    throw new ContrastError(
      `registry ${domain} is blocked by ${entry.source ?? conf.path ?? 'registries.conf'} (prefix "${entry.prefix}")`,
      {
        code: 'REGISTRY_BLOCKED',
      },
    );
  }
  const sources: PullSource[] = [];
  for (const m of entry.mirrors) {
    const mode = entry.mirrorByDigestOnly ? 'digest-only' : m.pullFromMirror;
    if (mode === 'digest-only' && !byDigest) continue;
    if (mode === 'tag-only' && byDigest) continue;
    sources.push({ ...splitName(rewrite(entry, m.location, name)), insecure: m.insecure, mirror: true });
  }
  sources.push({
    ...splitName(rewrite(entry, entry.location, name)),
    insecure: entry.insecure,
    mirror: false,
  });
  return sources;
}
