// Turns one `auths` entry into a credential, or says why it holds none.
import { registerSecret } from '../internal/log.js';
import { warnOnce } from './notice.js';
import type { CredentialKind } from './types.js';

export interface DecodedEntry {
  kind: Exclude<CredentialKind, 'anonymous'>;
  username: string | null;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

export type EntryResult = { ok: true; value: DecodedEntry } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Standard base64 with or without padding; undefined when it is not base64 at all. */
export function decodeBase64(value: string): string | undefined {
  const compact = value.trim();
  if (!BASE64.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * Decodes an entry. Precedence inside one entry follows what each field means to a registry:
 * `registrytoken` is already a bearer token, `identitytoken` is a refresh token (its username, if
 * any, comes from `auth`), then Basic from `auth`, then Basic from `username`/`password`.
 * `where` names the file and key for warnings; it must not contain secrets.
 */
export function decodeEntry(entry: unknown, where: string): EntryResult {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return { ok: false, reason: 'entry is not a JSON object' };
  }
  const e = entry as Record<string, unknown>;
  const auth = text(e['auth']);
  const fieldUser = text(e['username']);
  const fieldPassword = text(e['password']);
  const identityToken = text(e['identitytoken']);
  const registryToken = text(e['registrytoken']);
  for (const secret of [auth, fieldPassword, identityToken, registryToken]) registerSecret(secret);

  let authUser: string | undefined;
  let authPassword: string | undefined;
  let authProblem: string | undefined;
  if (auth !== undefined) {
    const decoded = decodeBase64(auth);
    if (decoded === undefined) {
      authProblem = '"auth" is not valid base64';
    } else {
      const colon = decoded.indexOf(':');
      if (colon === -1) {
        authProblem = '"auth" does not decode to user:password (no ":")';
      } else {
        authUser = decoded.slice(0, colon);
        // Docker trims NUL padding that some tools leave after the password.
        authPassword = decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '');
        registerSecret(authPassword);
        registerSecret(decoded);
      }
    }
  }
  const fieldsUsable = fieldUser !== undefined && fieldPassword !== undefined;
  if (authProblem !== undefined) {
    warnOnce(
      `${where}: ${authProblem}; ${fieldsUsable ? 'using "username"/"password" instead' : 'entry ignored'}`,
    );
  }

  if (
    authUser !== undefined &&
    (fieldUser !== undefined || fieldPassword !== undefined) &&
    (fieldUser !== authUser || fieldPassword !== authPassword)
  ) {
    warnOnce(`${where}: "auth" and "username"/"password" disagree; using "auth"`);
  }
  const username = authUser !== undefined && authUser !== '' ? authUser : (fieldUser ?? null);

  if (registryToken !== undefined) {
    return { ok: true, value: { kind: 'registry-token', username, registryToken } };
  }
  if (identityToken !== undefined) {
    return { ok: true, value: { kind: 'identity-token', username, identityToken } };
  }
  if (authUser !== undefined && authPassword !== undefined && (authUser !== '' || authPassword !== '')) {
    return { ok: true, value: { kind: 'basic', username: authUser, password: authPassword } };
  }
  if (fieldsUsable) {
    return { ok: true, value: { kind: 'basic', username: fieldUser, password: fieldPassword } };
  }
  if (authProblem !== undefined) return { ok: false, reason: authProblem };
  if (Object.keys(e).length === 0) {
    return { ok: false, reason: 'empty entry {} (a marker: the secret lives in a credential store)' };
  }
  if (fieldUser !== undefined) return { ok: false, reason: '"username" without "password"' };
  return { ok: false, reason: 'entry has no auth, username/password, identitytoken or registrytoken' };
}
