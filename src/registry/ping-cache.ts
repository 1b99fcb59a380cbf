// What a `/v2/` ping learned about a registry (the scheme that answered and its auth challenges), kept
// beside the metadata cache so a warm run reaches the registry with its first real request instead of
// a ping (and, for an insecure bare host, a failed HTTPS attempt first). Unlike manifests, this is not
// content-addressed: it can go stale, so an entry lives at most `maxAgeMs`, and the transport treats a
// cached state as unconfirmed until the registry answers a request on it (a failure re-pings for real;
// see transport.ts). The key includes how the registry is configured (secure, insecure bare host,
// forced `http://`), so changing that configuration never reuses an entry made under another one.
//
// The file holds only what the registry sends to anyone: scheme, challenge scheme and parameters. No
// credential, token or header we send is ever written. Registries that answer with a Bearer challenge
// are never cached: its realm decides where credentials are sent, and a realm remembered from an
// earlier run could send them to a token server the registry no longer names, before the registry is
// asked at all. So only anonymous and Basic registries (credentials go to the registry's own origin)
// skip the ping, and an entry is trusted only when the file belongs to this user and nobody else can
// write it (a cache directory shared with others is then simply not used for pings).
import { createHash } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ownedByUserAlone, replaceCacheFile } from '../internal/cache-files.js';
import { errorMessage } from '../internal/errors.js';
import { log } from '../internal/log.js';
import type { Challenge } from './challenge.js';

/** How long a ping result is reused; a stale one costs a failed request and a real ping. */
export const defaultPingMaxAgeMs = 60 * 60 * 1000;

/** How the registry is configured: no insecure entry, a bare insecure host, or `http://host`. */
export type PingMode = 'secure' | 'any' | 'http';

export interface PingRecord {
  scheme: 'https' | 'http';
  challenges: Challenge[];
}

interface PingFile extends PingRecord {
  v: 1;
  host: string;
  mode: PingMode;
  savedAt: number;
}

function isChallenge(c: unknown): c is Challenge {
  if (!c || typeof c !== 'object') return false;
  const { scheme, params } = c as Record<string, unknown>;
  return (
    typeof scheme === 'string' &&
    !!params &&
    typeof params === 'object' &&
    !Array.isArray(params) &&
    Object.values(params).every((v) => typeof v === 'string')
  );
}

/** Whether a ping answer may be cached: no Bearer challenge, whose realm would steer credentials. */
function cacheable(challenges: readonly Challenge[]): boolean {
  return challenges.every((c) => c.scheme.toLowerCase() !== 'bearer');
}

/** The schemes a configuration allows (a secure registry is never reached over HTTP). */
function schemeAllowed(mode: PingMode, scheme: string): boolean {
  return mode === 'http' ? scheme === 'http' : mode === 'secure' ? scheme === 'https' : true;
}

export class PingCache {
  /** `readOnly`: entries are read but never stored or removed (`--check` writes nothing). */
  constructor(
    readonly dir: string,
    readonly readOnly = false,
    readonly maxAgeMs = defaultPingMaxAgeMs,
  ) {}

  private file(host: string, mode: PingMode): string {
    const key = createHash('sha256').update(`${host.toLowerCase()}|${mode}`).digest('hex').slice(0, 32);
    return join(this.dir, 'ping', `${key}.json`);
  }

  /** The entry for `host` under `mode`, or undefined (absent, too old, not ours, or malformed). */
  async get(host: string, mode: PingMode, now = Date.now()): Promise<PingRecord | undefined> {
    const path = this.file(host, mode);
    let text: string;
    try {
      const fh = await open(path, 'r');
      try {
        if (!ownedByUserAlone(await fh.stat())) {
          log.debug(`ping cache: ${path} is not owned by this user or writable by others; not used`);
          return undefined;
        }
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
    let f: PingFile;
    try {
      f = JSON.parse(text) as PingFile;
    } catch {
      return undefined;
    }
    const valid =
      f &&
      f.v === 1 &&
      f.host === host.toLowerCase() &&
      f.mode === mode &&
      (f.scheme === 'https' || f.scheme === 'http') &&
      schemeAllowed(mode, f.scheme) &&
      typeof f.savedAt === 'number' &&
      Array.isArray(f.challenges) &&
      f.challenges.every(isChallenge) &&
      cacheable(f.challenges);
    if (!valid) return undefined;
    const age = now - f.savedAt;
    if (age < 0 || age > this.maxAgeMs) return undefined;
    return {
      scheme: f.scheme,
      challenges: f.challenges.map((c) => ({ scheme: c.scheme, params: { ...c.params } })),
    };
  }

  /**
   * Stores what a real ping learned (a Bearer registry: removes any entry instead); failures only
   * cost a ping next time.
   */
  async put(host: string, mode: PingMode, record: PingRecord, now = Date.now()): Promise<void> {
    if (this.readOnly || !schemeAllowed(mode, record.scheme)) return;
    if (!cacheable(record.challenges)) return this.drop(host, mode);
    const path = this.file(host, mode);
    const body: PingFile = {
      v: 1,
      host: host.toLowerCase(),
      mode,
      scheme: record.scheme,
      // Scheme and parameters only: what the registry's /v2/ answer told everyone.
      challenges: record.challenges.map((c) => ({ scheme: c.scheme, params: { ...c.params } })),
      savedAt: now,
    };
    try {
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await replaceCacheFile(path, JSON.stringify(body), 0o600);
    } catch (err) {
      log.debug(`ping cache: cannot store ${host} in ${this.dir}: ${errorMessage(err)}`);
    }
  }

  /** Forgets an entry that stopped working (the real ping that follows stores a new one). */
  async drop(host: string, mode: PingMode): Promise<void> {
    if (this.readOnly) return;
    await unlink(this.file(host, mode)).catch(() => undefined);
  }
}
