// Bearer token acquisition (distribution token.md / oauth.md):
//  - identity token  → OAuth2 POST grant_type=refresh_token; on 400/401/404/405 fall back to GET with Basic,
//  - username/secret → GET with Basic and `account` (widest support),
//  - anonymous       → GET without Authorization.
// Scopes: repeated `scope` parameters for GET, one space-joined `scope` field for POST.
import { terminalSafe } from '../internal/terminal.js';
import { ContrastError } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import { readText, type HttpSender } from './http.js';
import type { RegistryCredential } from './types.js';

export interface TokenRequest {
  realm: string;
  service: string | undefined;
  scopes: string[];
  credential: RegistryCredential;
  clientId: string;
  /** Registry the token is for (error messages). */
  registry: string;
  /** Allow an http:// realm (only for registries configured as insecure). */
  allowHttpRealm: boolean;
  /** Overall deadline of the token exchange. */
  signal?: AbortSignal;
}

export interface TokenResult {
  token: string;
  /** Epoch ms after which the token must not be used. */
  expiresAt: number;
  /** Which flow produced the token, for debug lines. */
  flow: string;
}

/** Minimum lifetime assumed by all Go clients; clamped up to it. */
export const minTokenLifetimeSeconds = 60;
/** Renew this long before expiry to absorb clock skew and request latency. */
export const tokenExpirySkewMs = 10_000;

interface TokenResponseBody {
  token?: unknown;
  access_token?: unknown;
  expires_in?: unknown;
  issued_at?: unknown;
  refresh_token?: unknown;
}

/** Turns a token endpoint response into a token and its expiry. */
export function parseTokenResponse(text: string, receivedAt: number): { token: string; expiresAt: number } {
  let body: TokenResponseBody;
  try {
    body = JSON.parse(text) as TokenResponseBody;
  } catch {
    throw new Error('token response is not JSON');
  }
  const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
  if (typeof token !== 'string' || !token)
    throw new Error('token response has neither `token` nor `access_token`');
  registerSecret(token);
  if (typeof body.access_token === 'string') registerSecret(body.access_token);
  if (typeof body.refresh_token === 'string') registerSecret(body.refresh_token);
  const expiresIn =
    typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : minTokenLifetimeSeconds;
  let issued = receivedAt;
  if (typeof body.issued_at === 'string') {
    const t = Date.parse(body.issued_at);
    if (!Number.isNaN(t)) issued = t;
  }
  return {
    token,
    expiresAt: issued + Math.max(minTokenLifetimeSeconds, expiresIn) * 1000 - tokenExpirySkewMs,
  };
}

function basicHeader(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

/** The `error`/`error_description` or `errors[0]` text of a token endpoint answer. */
export function tokenErrorText(text: string): string {
  return terminalSafe(rawTokenErrorText(text));
}

function rawTokenErrorText(text: string): string {
  try {
    const j = JSON.parse(text) as {
      error?: string;
      error_description?: string;
      details?: string;
      errors?: { code?: string; message?: string }[];
    };
    if (j.error) return j.error_description ? `${j.error}: ${j.error_description}` : j.error;
    const e = j.errors?.[0];
    if (e) return [e.code, e.message].filter(Boolean).join(': ');
    if (j.details) return j.details;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 300);
}

export function describeSource(c: RegistryCredential): string {
  return c.kind === 'anonymous'
    ? `anonymous (${c.source.description})`
    : `${c.kind} from ${c.source.description}`;
}

export async function fetchToken(http: HttpSender, req: TokenRequest): Promise<TokenResult> {
  let realm: URL;
  try {
    realm = new URL(req.realm);
  } catch {
    throw new ContrastError(`registry ${req.registry} named an invalid token realm "${req.realm}"`, {
      code: 'AUTH_REALM',
    });
  }
  if (realm.protocol === 'http:' && !req.allowHttpRealm) {
    throw new ContrastError(
      `registry ${req.registry} wants credentials sent to plain-HTTP token realm ${realm.origin}; refusing`,
      { code: 'AUTH_REALM', hint: `mark ${req.registry} as an insecure registry if this is a test setup` },
    );
  }
  if (realm.protocol !== 'http:' && realm.protocol !== 'https:') {
    throw new ContrastError(`registry ${req.registry}: unsupported token realm ${req.realm}`, {
      code: 'AUTH_REALM',
    });
  }
  const c = req.credential;
  if (c.kind === 'identity-token' && c.identityToken) {
    const post = await postRefreshGrant(http, realm, req, c.identityToken);
    if ('token' in post) return post;
    log.debug(`  token POST answered ${post.status}; falling back to GET with Basic (${post.message})`);
    try {
      return await getToken(http, realm, req, basicHeader(c.username ?? '', c.identityToken));
    } catch (err) {
      if (err instanceof ContrastError) {
        throw new ContrastError(
          `${err.message} (the OAuth2 refresh-token POST had answered ${post.status}: ${post.message})`,
          { code: err.code, ...(err.hint ? { hint: err.hint } : {}) },
        );
      }
      throw err;
    }
  }
  if (c.kind === 'basic' && c.username !== null && c.password !== undefined) {
    return getToken(http, realm, req, basicHeader(c.username, c.password), c.username);
  }
  return getToken(http, realm, req, undefined);
}

function rejected(
  req: TokenRequest,
  realm: URL,
  status: number,
  message: string,
  flow: string,
): ContrastError {
  const who = describeSource(req.credential);
  const denied = status === 401 || status === 403;
  return new ContrastError(
    `token server ${realm.origin}${realm.pathname} for registry ${req.registry} ${denied ? 'rejected' : 'failed for'} the credentials (${who}; ${flow}): HTTP ${status}${message ? `: ${message}` : ''}`,
    {
      code: denied ? 'AUTH_REJECTED' : 'AUTH_FAILED',
      ...(denied
        ? {
            hint: `check the credential for ${req.registry} (${req.credential.source.description}); log in again if it expired`,
          }
        : {}),
    },
  );
}

async function getToken(
  http: HttpSender,
  realm: URL,
  req: TokenRequest,
  authorization: string | undefined,
  account?: string,
): Promise<TokenResult> {
  const url = new URL(realm);
  if (req.service) url.searchParams.set('service', req.service);
  for (const s of req.scopes) url.searchParams.append('scope', s);
  if (account) url.searchParams.set('account', account);
  url.searchParams.set('client_id', req.clientId);
  const flow = authorization ? 'token GET with Basic' : 'anonymous token GET';
  log.debug(
    `${flow} for ${req.registry} at ${realm.origin} scopes [${req.scopes.join(' ')}] (credential: ${describeSource(req.credential)})`,
  );
  const res = await http.send(url, {
    method: 'GET',
    ...(authorization ? { authorization, authLabel: 'basic' } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    what: `token request for ${req.registry}`,
  });
  const receivedAt = Date.now();
  const text = await readText(res.body, 1024 * 1024);
  if (res.status !== 200) throw rejected(req, realm, res.status, tokenErrorText(text), flow);
  try {
    return { ...parseTokenResponse(text, receivedAt), flow };
  } catch (err) {
    throw new ContrastError(`token server ${realm.origin} for ${req.registry}: ${(err as Error).message}`, {
      code: 'AUTH_FAILED',
    });
  }
}

const fallbackStatuses = new Set([400, 401, 404, 405]);

async function postRefreshGrant(
  http: HttpSender,
  realm: URL,
  req: TokenRequest,
  refreshToken: string,
): Promise<TokenResult | { status: number; message: string }> {
  const form = new URLSearchParams();
  form.set('grant_type', 'refresh_token');
  form.set('refresh_token', refreshToken);
  if (req.service) form.set('service', req.service);
  form.set('client_id', req.clientId);
  if (req.scopes.length) form.set('scope', req.scopes.join(' '));
  const flow = 'OAuth2 refresh-token POST';
  log.debug(
    `${flow} for ${req.registry} at ${realm.origin} scopes [${req.scopes.join(' ')}] (credential: ${describeSource(req.credential)})`,
  );
  const res = await http.send(realm, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    secretBody: true,
    ...(req.signal ? { signal: req.signal } : {}),
    what: `token request for ${req.registry}`,
  });
  const receivedAt = Date.now();
  const text = await readText(res.body, 1024 * 1024);
  if (res.status === 200) {
    try {
      return { ...parseTokenResponse(text, receivedAt), flow };
    } catch (err) {
      throw new ContrastError(`token server ${realm.origin} for ${req.registry}: ${(err as Error).message}`, {
        code: 'AUTH_FAILED',
      });
    }
  }
  if (fallbackStatuses.has(res.status)) return { status: res.status, message: tokenErrorText(text) };
  throw rejected(req, realm, res.status, tokenErrorText(text), flow);
}
