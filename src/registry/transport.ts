// Authenticated requests to a registry's /v2/ API — the piece every other registry operation uses
// (pull here; push and mirror build on `request` / `authorize` with `actions: ['pull', 'push']` and
// extra scopes such as `repository:<from>:pull` for cross-repository mounts).
//
// Flow per request: ping /v2/ once per registry (learn the challenges and, for insecure registries,
// whether it speaks HTTPS), or, for an anonymous or Basic registry, take what an earlier run's ping
// learned from the ping cache (confirmed by the registry's first answer, else a real ping and the
// request again); pick Bearer over Basic; get a token for the scope set from the cache or the token
// server; send; on a 401 merge the challenged scope (first) or drop an invalid token and
// re-authenticate exactly once; a second 401 is an error that quotes the server.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { forgetCredential, resolveCredential, type CredentialOptions } from '../credentials/index.js';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import { parseChallenges, preferredChallenge, type Challenge } from './challenge.js';
import { Connections } from './connection.js';
import { HttpSender, readText, sameOrigin, type HttpMethod, type SendResult } from './http.js';
import { registryError } from './registry-error.js';
import { defaultRetryPolicy, type RetryPolicy } from './retry.js';
import { Deadline, defaultDeadlines, formatSeconds } from './deadline.js';
import { mergeScopes, repositoryScope, scopeSetKey, splitScopes } from './scope.js';
import { PingCache, type PingMode } from './ping-cache.js';
import { TokenCache } from './token-cache.js';
import { describeSource, fetchToken } from './token.js';
import type { TlsOptions } from './tls.js';
import type { CredentialUse, RegistryCredential } from './types.js';

export type CredentialResolver = (domain: string, repository: string) => Promise<RegistryCredential>;

export interface TransportOptions extends TlsOptions {
  credentials?: CredentialOptions;
  /** Replaces the credential lookup (tests, callers holding credentials already). */
  credentialResolver?: CredentialResolver;
  /**
   * host[:port] values allowed to use plain HTTP or unverified TLS. `http://host:port` forces plain
   * HTTP; a bare host tries HTTPS without verification first, then HTTP.
   */
  insecureRegistries?: string[];
  retry?: Partial<RetryPolicy>;
  /** `client_id` sent to token servers. */
  clientId?: string;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Keep-alive connections per origin; default 16. */
  maxConnectionsPerHost?: number;
  /** Total time for a ping or a token exchange (default: defaultDeadlines.requestMs, 120 s). */
  requestDeadlineMs?: number;
}

export interface RegistryRequest {
  /** Registry as in references: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path on that registry, e.g. `library/nginx`. */
  repository: string;
  /** Actions on `repository`: `['pull']`, or `['pull', 'push']` for uploads. */
  actions: readonly string[];
  /** More scopes, e.g. `repository:<source>:pull` for a cross-repository blob mount. */
  extraScopes?: readonly string[];
  method: HttpMethod;
  /** `/v2/...` path (with query) or an absolute URL on the registry (upload `Location`). */
  path: string;
  headers?: Record<string, string>;
  /** A stream body is sent once: no retry, no re-auth (call `authorize` first). */
  body?: string | Uint8Array | Readable | null;
  /** Statuses returned to the caller; anything else throws a RegistryError. Default: 200-299. */
  expect?: readonly number[];
  followRedirects?: boolean;
  /** Aborts the request (an overall deadline); the signal's reason is thrown. */
  signal?: AbortSignal;
  /** Description for errors: "manifest test/app:v1". */
  what: string;
}

export interface RegistryResponse extends SendResult {
  credential: CredentialUse;
}

interface RegistryState {
  domain: string;
  base: URL;
  challenges: Challenge[];
  /**
   * Read from the ping cache and not yet confirmed by an answer of the registry in this run: a
   * failure on it re-pings for real and sends the request again (see `request`).
   */
  cached?: boolean;
}

/** A request on a state from the ping cache: has the registry answered it (confirming the state)? */
interface Probe {
  answered: boolean;
}

interface AuthHeader {
  header: string;
  label: string;
}

export interface AuthEndpoint {
  /** The registry's API origin. */
  registry: string;
  scheme: 'none' | 'basic' | 'bearer' | string;
  realm?: string;
  realmHost?: string;
  /** The token server is on another host than the registry (normal for Docker Hub, ACR, …). */
  realmOnOtherHost?: boolean;
}

function realmNote(realm: string, base: URL): string {
  try {
    const host = new URL(realm).host;
    return host === base.host ? '' : `; token server on another host: ${host} receives the credentials`;
  } catch {
    return '';
  }
}

/** A 401 from an origin that is not the registry's (reached by redirect or an absolute URL). */
function foreignChallengeError(
  what: string,
  state: RegistryState,
  from: URL,
  headers: IncomingHttpHeaders,
): ContrastError {
  const ch = preferredChallenge(parseChallenges(headers['www-authenticate']));
  const asks = ch
    ? ` (${ch.scheme} challenge${ch.params['realm'] ? `, realm ${safeOrigin(ch.params['realm'])}` : ''})`
    : '';
  return new ContrastError(
    `${what}: ${from.origin} answered HTTP 401${asks}, but it is not registry ${state.domain} (${state.base.origin}); the registry's credentials are never sent to another origin, and it refused the anonymous request`,
    {
      code: 'AUTH_FOREIGN_ORIGIN',
      hint: `the registry redirected to storage that wants its own authentication; ask the registry's operator (a pre-signed redirect URL needs no credentials)`,
    },
  );
}

function sameChallenge(a: Challenge | undefined, b: Challenge | undefined): boolean {
  return (
    a?.scheme === b?.scheme &&
    a?.params['realm'] === b?.params['realm'] &&
    a?.params['service'] === b?.params['service']
  );
}

/**
 * Why an answer to the first request on a cached state does not confirm it (undefined: it does). A 401
 * confirms only when it challenges as the cached ping said (then it is a real refusal, handled as
 * always); an unexpected status (400 from a TLS port spoken to in plain HTTP, 403, 5xx) does not.
 */
function staleAnswer(
  res: SendResult,
  state: RegistryState,
  expect: readonly number[] | undefined,
): string | undefined {
  if (!sameOrigin(res.url, state.base)) return undefined; // the registry redirected: it answered
  if (res.status === 401) {
    const fresh = preferredChallenge(parseChallenges(res.headers['www-authenticate']));
    const cached = preferredChallenge(state.challenges);
    return !fresh || sameChallenge(fresh, cached)
      ? undefined
      : `HTTP 401 with a ${fresh.scheme} challenge, cached: ${cached ? cached.scheme : 'none'}`;
  }
  const ok = expect ? expect.includes(res.status) : res.status >= 200 && res.status < 300;
  return ok || res.status === 404 ? undefined : `HTTP ${res.status}`;
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** Docker Hub's images are named docker.io, its API lives on registry-1.docker.io. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

function secretFingerprint(c: RegistryCredential): string {
  const secret = c.password ?? c.identityToken ?? c.registryToken ?? '';
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

export function credentialUse(c: RegistryCredential): CredentialUse {
  return { kind: c.kind, username: c.username, source: c.source };
}

function defaultResolver(options: CredentialOptions | undefined): CredentialResolver {
  return (domain, repository) => resolveCredential({ domain, path: repository }, options);
}

export class RegistryTransport {
  readonly http: HttpSender;
  readonly connections: Connections;
  private readonly states = new Map<string, Promise<RegistryState>>();
  /** States read from the ping cache, per registry (a real ping in `states` takes precedence). */
  private readonly cachedStates = new Map<string, Promise<RegistryState>>();
  private pingCache: PingCache | undefined;
  private readonly creds = new Map<string, Promise<RegistryCredential>>();
  /** Scope sets that worked per repository, so later requests skip a known challenge round trip. */
  private readonly learnedScopes = new Map<string, string[]>();
  private readonly tokens = new TokenCache();
  private readonly insecure: Map<string, 'http' | 'any'>;
  private readonly resolver: CredentialResolver;

  constructor(private readonly options: TransportOptions = {}) {
    this.resolver = options.credentialResolver ?? defaultResolver(options.credentials);
    this.insecure = new Map();
    for (const raw of options.insecureRegistries ?? []) {
      const forced = /^http:\/\//i.test(raw);
      const host = raw
        .replace(/^https?:\/\//i, '')
        .replace(/\/+$/, '')
        .toLowerCase();
      this.insecure.set(host, forced ? 'http' : 'any');
    }
    this.connections = new Connections({
      ...options,
      isInsecure: (h) => this.isInsecure(h),
    });
    this.http = new HttpSender(this.connections, { ...defaultRetryPolicy, ...options.retry }, (h) =>
      this.isInsecure(h),
    );
  }

  isInsecure(hostPort: string): boolean {
    const h = hostPort.toLowerCase();
    return this.insecure.has(h) || this.insecure.has(h.replace(/:443$/, ''));
  }

  /** Marks a host insecure after construction (registries.conf `insecure = true`). */
  addInsecure(hostPort: string): void {
    const h = hostPort.toLowerCase();
    if (!this.insecure.has(h)) this.insecure.set(h, 'any');
  }

  requestCount(): number {
    return this.http.requests;
  }

  /**
   * Reuses what earlier runs' pings learned (scheme, challenges), kept in `cache` (`ping-cache.ts`);
   * requests then skip the `/v2/` ping. `ping` and `authEndpoint` still always ping.
   */
  usePingCache(cache: PingCache | undefined): void {
    this.pingCache = cache;
    this.cachedStates.clear();
  }

  private pingMode(domain: string): PingMode {
    const host = apiHost(domain).toLowerCase();
    return this.insecure.get(host) ?? this.insecure.get(domain.toLowerCase()) ?? 'secure';
  }

  /**
   * The state requests use: a real ping already made in this run, else the ping cache's entry
   * (marked `cached`), else a real ping.
   */
  private stateFor(domain: string): Promise<RegistryState> {
    const real = this.states.get(domain);
    if (real || !this.pingCache) return real ?? this.ping(domain);
    let p = this.cachedStates.get(domain);
    if (!p) {
      const cache = this.pingCache;
      const host = apiHost(domain);
      p = cache.get(host, this.pingMode(domain)).then((rec): Promise<RegistryState> | RegistryState => {
        if (!rec) return this.ping(domain);
        log.debug(
          `registry ${domain}: ${rec.scheme}, challenges from the ping cache (${cache.dir}); no /v2/ ping`,
        );
        return {
          domain,
          base: new URL(`${rec.scheme}://${host}/`),
          challenges: rec.challenges,
          cached: true,
        };
      });
      p.catch(() => this.cachedStates.delete(domain));
      this.cachedStates.set(domain, p);
    }
    return p;
  }

  /** A cached state failed: forget it (memory and disk) and ping for real (once for all requests). */
  private async reping(domain: string, why: string): Promise<RegistryState> {
    log.debug(`registry ${domain}: the cached ping result did not work (${why}); pinging /v2/`);
    if (this.cachedStates.get(domain) !== undefined) {
      this.cachedStates.delete(domain);
      await this.pingCache?.drop(apiHost(domain), this.pingMode(domain));
    }
    return this.ping(domain);
  }

  /** Runs one small exchange (ping, token) under the total request deadline. */
  private async withDeadline<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = this.options.requestDeadlineMs ?? defaultDeadlines.requestMs;
    const deadline = new Deadline(
      ms,
      () =>
        new ContrastError(`${what}: no complete answer within ${formatSeconds(ms)}`, {
          code: 'DEADLINE',
          hint: 'the server is stalled or trickling data; --request-deadline changes the limit',
        }),
    );
    try {
      return await fn(deadline.signal);
    } finally {
      deadline.stop();
    }
  }

  /** The credential for a repository (resolved once per registry+repository). */
  credential(domain: string, repository: string): Promise<RegistryCredential> {
    const key = `${domain}/${repository}`;
    let p = this.creds.get(key);
    if (!p) {
      p = (async () => {
        return this.resolver(domain, repository);
      })().then((c) => {
        registerSecret(c.password);
        registerSecret(c.identityToken);
        registerSecret(c.registryToken);
        log.debug(`credential for ${domain}/${repository}: ${describeSource(c)}`);
        return c;
      });
      p.catch(() => this.creds.delete(key));
      this.creds.set(key, p);
    }
    return p;
  }

  /**
   * Pings `/v2/` once per registry: which scheme works and which auth challenges it sends. Always a
   * real ping (never the ping cache, which it updates).
   */
  ping(domain: string): Promise<RegistryState> {
    let p = this.states.get(domain);
    if (!p) {
      p = this.doPing(domain);
      p.catch(() => this.states.delete(domain));
      this.states.set(domain, p);
    }
    return p;
  }

  /**
   * Where the registry sends clients to authenticate, for `auth show --ping`: the scheme and, for
   * Bearer, the token realm. A realm on another host is normal (Docker Hub, ACR) and gets the credentials.
   */
  async authEndpoint(domain: string): Promise<AuthEndpoint> {
    const state = await this.ping(domain);
    const ch = preferredChallenge(state.challenges);
    if (!ch) return { registry: state.base.origin, scheme: 'none' };
    const realm = ch.params['realm'];
    if (ch.scheme !== 'bearer' || !realm) return { registry: state.base.origin, scheme: ch.scheme };
    let realmHost: string | undefined;
    try {
      realmHost = new URL(realm).host;
    } catch {
      realmHost = undefined;
    }
    return {
      registry: state.base.origin,
      scheme: 'bearer',
      realm,
      ...(realmHost ? { realmHost, realmOnOtherHost: realmHost !== state.base.host } : {}),
    };
  }

  private async doPing(domain: string): Promise<RegistryState> {
    const host = apiHost(domain);
    const mode = this.pingMode(domain);
    const what = `ping of registry ${domain}`;
    const attempt = async (scheme: 'https' | 'http', retry: boolean): Promise<RegistryState> => {
      const base = new URL(`${scheme}://${host}/`);
      const { res, text } = await this.withDeadline(what, async (signal) => {
        const res = await this.http.send(new URL('/v2/', base), { method: 'GET', what, retry, signal });
        return { res, text: await readText(res.body) };
      });
      const foreign = !sameOrigin(res.url, base);
      if (foreign && res.status === 401) {
        // /v2/ redirected elsewhere and that origin wants authentication: not the registry's challenge.
        log.debug(
          `registry ${domain}: /v2/ redirected to ${res.url.origin}, which asks for authentication; ignoring that challenge (credentials for ${domain} go only to ${base.origin} and its token realm)`,
        );
      }
      const challenges =
        res.status === 401 && !foreign ? parseChallenges(res.headers['www-authenticate']) : [];
      if (res.status === 401 || (res.status >= 200 && res.status < 300)) {
        const ch = preferredChallenge(challenges);
        log.debug(
          `registry ${domain} at ${base.origin}: ${ch ? `${ch.scheme} auth${ch.params['realm'] ? ` (realm ${ch.params['realm']}${realmNote(ch.params['realm'], base)})` : ''}` : 'no auth'}`,
        );
        // Only an answer of the registry itself is worth remembering (not a redirect elsewhere).
        if (!foreign) await this.pingCache?.put(host, mode, { scheme, challenges });
      } else {
        // Some registries answer /v2/ oddly; the real request will say what is wrong.
        log.debug(`registry ${domain}: /v2/ answered ${res.status}: ${text.slice(0, 200)}`);
      }
      return { domain, base, challenges };
    };
    if (mode === 'http') return attempt('http', true);
    if (mode === 'any') {
      try {
        return await attempt('https', false);
      } catch (err) {
        log.debug(
          `registry ${domain}: HTTPS failed (${(err as Error).message}); trying plain HTTP (configured insecure)`,
        );
        return attempt('http', true);
      }
    }
    return attempt('https', true);
  }

  private tokenKey(
    realm: string,
    service: string | undefined,
    c: RegistryCredential,
    scopes: string[],
  ): string {
    return [realm, service ?? '', c.kind, c.username ?? '', secretFingerprint(c), scopeSetKey(scopes)].join(
      '|',
    );
  }

  private async authHeader(
    state: RegistryState,
    repository: string,
    scopes: string[],
    challenge: Challenge | undefined,
  ): Promise<{ auth: AuthHeader | undefined; credential: RegistryCredential }> {
    const credential = await this.credential(state.domain, repository);
    const ch = challenge ?? preferredChallenge(state.challenges);
    if (!ch) return { auth: undefined, credential };
    if (ch.scheme === 'basic') {
      if (credential.kind === 'basic' && credential.username !== null && credential.password !== undefined) {
        const header = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
        registerSecret(header.slice(6));
        return { auth: { header, label: `basic (${credential.source.description})` }, credential };
      }
      return { auth: undefined, credential };
    }
    // bearer
    if (credential.kind === 'registry-token' && credential.registryToken) {
      return {
        auth: { header: `Bearer ${credential.registryToken}`, label: 'bearer (registry token)' },
        credential,
      };
    }
    const realm = ch.params['realm'];
    if (!realm) {
      throw new ContrastError(`registry ${state.domain} sent a Bearer challenge without a realm`, {
        code: 'AUTH_REALM',
      });
    }
    const service = ch.params['service'];
    const key = this.tokenKey(realm, service, credential, scopes);
    const t = await this.tokens.get(key, () =>
      this.withDeadline(`token request for ${state.domain}`, (signal) =>
        fetchToken(this.http, {
          realm,
          service,
          scopes,
          credential,
          clientId: this.options.clientId ?? 'contrast',
          registry: state.domain,
          allowHttpRealm: state.base.protocol === 'http:' || this.isInsecure(state.base.host),
          signal,
        }),
      ),
    );
    return {
      auth: { header: `Bearer ${t.token}`, label: `bearer (${describeSource(credential)})` },
      credential,
    };
  }

  /**
   * Makes sure a token for these scopes is cached (e.g. before a streamed upload that cannot be
   * re-sent after a 401). Returns the Authorization value, undefined when the registry needs none.
   */
  async authorize(
    registry: string,
    repository: string,
    actions: readonly string[],
    extraScopes: readonly string[] = [],
  ): Promise<string | undefined> {
    const state = await this.ping(registry);
    const scopes = this.scopesFor(registry, repository, actions, extraScopes);
    return (await this.authHeader(state, repository, scopes, undefined)).auth?.header;
  }

  private scopesFor(
    registry: string,
    repository: string,
    actions: readonly string[],
    extra: readonly string[],
  ): string[] {
    const base = mergeScopes([repositoryScope(repository, actions)], extra);
    const learned = this.learnedScopes.get(`${registry}|${scopeSetKey(base)}`);
    return learned ?? base;
  }

  /** Sends an authenticated request (see RegistryRequest); non-expected statuses throw RegistryError. */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const state = await this.stateFor(req.registry);
    if (!state.cached) return this.requestWith(state, req);
    // A state from the ping cache may be stale (scheme, challenges): the first answer of the registry
    // confirms it; anything else (no connection, a refusal, an unexpected status) re-pings for real
    // and sends the request once more, as an uncached run would have sent it.
    const streamed = !!req.body && typeof (req.body as Readable).pipe === 'function';
    if (streamed) return this.requestWith(await this.reping(req.registry, 'a streamed body'), req);
    const probe: Probe = { answered: false };
    try {
      return await this.requestWith(state, req, probe);
    } catch (err) {
      // Once the registry answered this request, its errors are the request's own.
      if (req.signal?.aborted || probe.answered) throw err;
      return this.requestWith(await this.reping(req.registry, errorMessage(err)), req);
    }
  }

  private async requestWith(
    state: RegistryState,
    req: RegistryRequest,
    probe?: Probe,
  ): Promise<RegistryResponse> {
    const url = /^https?:\/\//i.test(req.path) ? new URL(req.path) : new URL(req.path, state.base);
    const baseScopes = mergeScopes([repositoryScope(req.repository, req.actions)], req.extraScopes ?? []);
    let scopes = this.scopesFor(req.registry, req.repository, req.actions, req.extraScopes ?? []);
    let { auth, credential } = await this.authHeader(state, req.repository, scopes, undefined);
    const streamed = !!req.body && typeof (req.body as Readable).pipe === 'function';
    for (let reauthed = false; ; reauthed = true) {
      const res = await this.http.send(url, {
        method: req.method,
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(auth ? { authorization: auth.header, authLabel: auth.label, authOrigin: state.base } : {}),
        ...(req.followRedirects !== undefined ? { followRedirects: req.followRedirects } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        // A request on a cached state fails fast until answered: the real ping that follows retries.
        ...(probe && !probe.answered ? { retry: false } : {}),
        what: req.what,
      });
      if (probe && !probe.answered) {
        // An answer confirmed by another request already is this request's own answer.
        const stale = state.cached ? staleAnswer(res, state, req.expect) : undefined;
        if (stale) {
          await res.body.dump();
          throw new Error(stale);
        }
        probe.answered = true;
        state.cached = false;
      }
      if (res.status === 401 && !sameOrigin(res.url, state.base)) {
        // A redirect target (blob storage) or a foreign upload URL asking for authentication: its
        // challenge is not the registry's, so the registry's credentials must not answer it. The request
        // to it carried no Authorization, so an anonymous retry would get the same answer: stop here.
        await res.body.dump();
        throw foreignChallengeError(req.what, state, res.url, res.headers);
      }
      if (res.status === 401) {
        const text = await readText(res.body);
        const fresh = parseChallenges(res.headers['www-authenticate']);
        const challenges = fresh.length ? fresh : state.challenges; // gcr.io-style 401 without a header
        const ch = preferredChallenge(challenges);
        // Basic credentials that were refused are retried only when they came from a helper and the
        // helper, asked again, hands out another secret (short-lived helper passwords: ECR, gcloud).
        const basicRefused = ch?.scheme === 'basic' && auth !== undefined;
        const helperRenewed =
          basicRefused &&
          !reauthed &&
          !streamed &&
          (await this.renewHelperCredential(state, req, credential));
        const canRetry = !reauthed && !streamed && ch !== undefined && (!basicRefused || helperRenewed);
        if (!canRetry || !ch)
          throw this.authFailure(req, state, res.status, res.headers, text, credential, ch);
        if (state.challenges.length === 0) state.challenges = challenges; // /v2/ was open, the repository is not
        if (ch.scheme === 'bearer') {
          const before = scopeSetKey(scopes);
          scopes = mergeScopes(splitScopes(ch.params['scope']), scopes);
          if (ch.params['error'] === 'invalid_token' || scopeSetKey(scopes) === before) {
            this.tokens.invalidate(
              this.tokenKey(ch.params['realm'] ?? '', ch.params['service'], credential, scopes),
            );
            // A helper may hand out short-lived secrets: ask it again before the one retry.
            await this.renewHelperCredential(state, req, credential);
          }
          log.debug(
            `  401 from ${state.domain} (${ch.params['error'] ?? 'no error code'}); re-authenticating once for [${scopes.join(' ')}]`,
          );
        }
        ({ auth, credential } = await this.authHeader(state, req.repository, scopes, ch));
        if (!auth) throw this.authFailure(req, state, res.status, res.headers, text, credential, ch);
        continue;
      }
      if (reauthed) this.learnedScopes.set(`${req.registry}|${scopeSetKey(baseScopes)}`, scopes);
      const expect = req.expect;
      const ok = expect ? expect.includes(res.status) : res.status >= 200 && res.status < 300;
      if (!ok) {
        const text = req.method === 'HEAD' ? '' : await readText(res.body);
        if (req.method === 'HEAD') await res.body.dump();
        throw registryError(
          req.what,
          state.domain,
          res.status,
          res.headers,
          text,
          describeSource(credential),
        );
      }
      return { ...res, credential: credentialUse(credential) };
    }
  }

  /**
   * After a 401: forgets a helper's answer, both here and in the credential resolver's cache (which
   * would otherwise answer with the same secret), and asks the helper again. True when the helper
   * now answers with another secret; false for credentials that are not from a helper.
   */
  private async renewHelperCredential(
    state: RegistryState,
    req: RegistryRequest,
    credential: RegistryCredential,
  ): Promise<boolean> {
    if (credential.source.type !== 'helper') return false;
    for (const key of this.creds.keys()) if (key.startsWith(`${state.domain}/`)) this.creds.delete(key);
    forgetCredential(state.domain);
    const renewed = await this.credential(state.domain, req.repository);
    return secretFingerprint(renewed) !== secretFingerprint(credential);
  }

  private authFailure(
    req: RegistryRequest,
    state: RegistryState,
    status: number,
    headers: IncomingHttpHeaders,
    text: string,
    credential: RegistryCredential,
    ch: Challenge | undefined,
  ): ContrastError {
    const detail = ch?.params['error']
      ? `challenge error: ${ch.params['error']}${ch.params['error_description'] ? ` (${ch.params['error_description']})` : ''}`
      : '';
    const err = registryError(
      req.what,
      state.domain,
      status,
      headers,
      text,
      describeSource(credential),
      detail,
    );
    if (credential.kind === 'anonymous') {
      return new ContrastError(err.message, {
        code: 'AUTH_REQUIRED',
        hint: `no credential was found for ${state.domain}; log in (contrast login ${state.domain}) or pass --authfile`,
      });
    }
    if (credential.kind === 'registry-token') {
      return new ContrastError(err.message, {
        code: 'AUTH_REJECTED',
        hint: 'the registry token from the auth file was rejected (expired?); log in again',
      });
    }
    return err;
  }

  async close(): Promise<void> {
    await this.connections.close();
  }
}
