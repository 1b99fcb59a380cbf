// Tokens cached per (realm, service, credential identity, scope set) until shortly before expiry.
// Concurrent requests for the same key share one token fetch.

export interface CachedToken {
  token: string;
  expiresAt: number;
}

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string, fetch: () => Promise<CachedToken>): Promise<CachedToken> {
    const hit = this.tokens.get(key);
    if (hit && hit.expiresAt > this.now()) return hit;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = fetch().then(
      (t) => {
        this.tokens.set(key, t);
        this.inflight.delete(key);
        return t;
      },
      (err: unknown) => {
        this.inflight.delete(key);
        throw err;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  invalidate(key: string): void {
    this.tokens.delete(key);
  }

  get size(): number {
    return this.tokens.size;
  }
}
