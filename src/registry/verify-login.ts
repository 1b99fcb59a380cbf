// Checks a user name and password against a registry before `contrast login` stores them, the way
// the registry asks for it: Basic on /v2/, or a Bearer token from its token server (GET with Basic,
// as `docker login` does, then the OAuth2 password grant for servers that only speak POST). The ping,
// TLS handling and the token GET are the transport's; this file only interprets the answers.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import { loginRegistry } from '../credentials/index.js';
import { preferredChallenge } from './challenge.js';
import { readText } from './http.js';
import { fetchToken, tokenErrorText } from './token.js';
import { RegistryTransport, type TransportOptions } from './transport.js';
import type { RegistryCredential } from './types.js';

export interface LoginVerification {
  registry: string;
  /** How the registry checked the credentials ('none': it asks for none, so nothing could be checked). */
  method: 'basic' | 'token' | 'oauth2-password' | 'none';
  /** One line for the user. */
  detail: string;
}

function rejected(registry: string, username: string, how: string): ContrastError {
  return new ContrastError(
    `registry ${registry} rejected the credentials for user "${username}" (${how}); nothing was stored`,
    {
      code: 'LOGIN_REJECTED',
      hint: 'check the user name and the password or access token (for registries with 2FA/SSO, use an access token as the password)',
    },
  );
}

/**
 * Verifies `username`/`password` against `registryInput` (host[:port], URL, or '' for Docker Hub).
 * Resolves when the registry accepted them (or needs no credentials); throws ContrastError with
 * code LOGIN_REJECTED, LOGIN_IDENTITY_TOKEN_ONLY, TLS_VERIFY or UNREACHABLE otherwise. Never puts
 * the secret in a message.
 */
export async function verifyLogin(
  registryInput: string,
  credential: { username: string; password: string },
  options: TransportOptions = {},
): Promise<LoginVerification> {
  registerSecret(credential.password);
  const registry = loginRegistry(registryInput);
  const cred: RegistryCredential = {
    kind: 'basic',
    username: credential.username,
    password: credential.password,
    source: { type: 'login', description: 'the credentials given to contrast login' },
  };
  const transport = new RegistryTransport({
    ...options,
    retry: { maxRetries: 1, ...options.retry },
    credentialResolver: async () => cred,
  });
  try {
    let state;
    try {
      state = await transport.ping(registry);
    } catch (err) {
      if (err instanceof ContrastError && err.code === 'TLS_VERIFY') {
        throw new ContrastError(`cannot verify the login: ${err.message}; nothing was stored`, {
          code: 'TLS_VERIFY',
          hint: `${err.hint ?? ''}${err.hint ? '; ' : ''}or skip the check with --no-verify`,
        });
      }
      if (err instanceof ContrastError) {
        throw new ContrastError(`cannot verify the login: ${err.message}; nothing was stored`, {
          code: err.code,
          hint: 'check the registry name and your network, or skip the check with --no-verify',
        });
      }
      throw err;
    }
    const ch = preferredChallenge(state.challenges);
    if (!ch) {
      return {
        registry,
        method: 'none',
        detail: `registry ${registry} asks for no credentials; they were not checked`,
      };
    }
    if (ch.scheme === 'basic') {
      const header = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      registerSecret(header.slice(6));
      const res = await transport.http.send(new URL('/v2/', state.base), {
        method: 'GET',
        authorization: header,
        authLabel: 'basic',
        what: `login check for ${registry}`,
      });
      const text = await readText(res.body);
      if (res.status >= 200 && res.status < 300)
        return { registry, method: 'basic', detail: `registry ${registry} accepted the credentials (Basic)` };
      if (res.status === 401 || res.status === 403)
        throw rejected(registry, credential.username, `Basic auth on /v2/: HTTP ${res.status}`);
      throw new ContrastError(
        `cannot verify the login: registry ${registry} answered HTTP ${res.status} on /v2/: ${text.slice(0, 200)}`,
        {
          code: 'LOGIN_UNVERIFIED',
          hint: 'skip the check with --no-verify if the registry is known to work',
        },
      );
    }
    const realm = ch.params['realm'];
    if (!realm)
      throw new ContrastError(`registry ${registry} sent a Bearer challenge without a realm`, {
        code: 'AUTH_REALM',
      });
    const allowHttpRealm = state.base.protocol === 'http:' || transport.isInsecure(state.base.host);
    let getError: ContrastError;
    try {
      await fetchToken(transport.http, {
        realm,
        service: ch.params['service'],
        scopes: [],
        credential: cred,
        clientId: options.clientId ?? 'contrast',
        registry,
        allowHttpRealm,
      });
      return { registry, method: 'token', detail: `token server of ${registry} accepted the credentials` };
    } catch (err) {
      if (!(err instanceof ContrastError)) throw err;
      if (err.code === 'AUTH_REJECTED')
        throw rejected(registry, credential.username, err.message.replace(/^token server /, 'token server '));
      if (err.code !== 'AUTH_FAILED') throw err;
      getError = err;
    }
    // The token GET neither accepted nor rejected Basic: try the OAuth2 password grant.
    log.debug(
      `login check for ${registry}: token GET failed (${getError.message}); trying the OAuth2 password grant`,
    );
    const post = await passwordGrant(
      transport,
      realm,
      ch.params['service'],
      credential,
      options.clientId ?? 'contrast',
      `login check for ${registry}`,
    );
    if (post.status === 200)
      return {
        registry,
        method: 'oauth2-password',
        detail: `token server of ${registry} accepted the credentials (OAuth2 password grant)`,
      };
    if (post.status === 401 || (post.status === 400 && /invalid_grant/.test(post.message))) {
      throw rejected(
        registry,
        credential.username,
        `OAuth2 password grant: HTTP ${post.status}${post.message ? `: ${post.message}` : ''}`,
      );
    }
    throw new ContrastError(
      `registry ${registry} does not accept a user name and password: its token server refused the Basic token request ` +
        `(${getError.message.replace(/^.*?: HTTP /, 'HTTP ')}) and the OAuth2 password grant (HTTP ${post.status}${post.message ? `: ${post.message}` : ''}); ` +
        'it only issues tokens for identity (refresh) tokens; nothing was stored',
      {
        code: 'LOGIN_IDENTITY_TOKEN_ONLY',
        hint: "log in with the registry's own tool (e.g. `az acr login`, `docker login` with SSO): it stores an identity token that contrast reads; or store anyway with --no-verify",
      },
    );
  } finally {
    await transport.close();
  }
}

async function passwordGrant(
  transport: RegistryTransport,
  realm: string,
  service: string | undefined,
  credential: { username: string; password: string },
  clientId: string,
  what: string,
): Promise<{ status: number; message: string }> {
  const form = new URLSearchParams({
    grant_type: 'password',
    username: credential.username,
    password: credential.password,
    client_id: clientId,
  });
  if (service) form.set('service', service);
  try {
    const res = await transport.http.send(new URL(realm), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      secretBody: true, // the password: never re-sent to another origin by a redirect
      what,
    });
    const text = await readText(res.body, 1024 * 1024);
    if (res.status === 200) {
      // Register whatever came back so it can never be logged.
      try {
        const j = JSON.parse(text) as Record<string, unknown>;
        for (const k of ['access_token', 'token', 'refresh_token'])
          if (typeof j[k] === 'string') registerSecret(j[k]);
      } catch {
        // not JSON: treated as a failure below by the caller only through status
      }
    }
    return { status: res.status, message: res.status === 200 ? '' : tokenErrorText(text) };
  } catch (err) {
    return { status: 0, message: errorMessage(err) };
  }
}
