// Error responses from registries (distribution spec: `{"errors":[{"code","message","detail"}]}`),
// turned into messages that name the registry, status, registry code, server message and credential.
import type { IncomingHttpHeaders } from 'node:http';
import { ContrastError } from '../internal/errors.js';
import { terminalSafe } from '../internal/terminal.js';
import { rateLimitSummary } from './retry.js';

export interface RegistryErrorBody {
  code: string;
  message: string;
}

function parseRegistryErrors(text: string): RegistryErrorBody[] {
  try {
    const j = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    if (!Array.isArray(j.errors)) return [];
    return j.errors.map((e) => ({
      code: typeof e.code === 'string' ? e.code : '',
      message: typeof e.message === 'string' ? e.message : '',
    }));
  } catch {
    return [];
  }
}

export class RegistryError extends ContrastError {
  constructor(
    message: string,
    readonly status: number,
    readonly registryCodes: string[],
    options: { code: string; hint?: string },
  ) {
    super(message, options);
  }
}

function codeForStatus(status: number): string {
  if (status === 401) return 'AUTH_REJECTED';
  if (status === 403) return 'DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  return 'REGISTRY_ERROR';
}

/** Error for a final non-success answer. `credential` is a description (never a secret). */
export function registryError(
  what: string,
  host: string,
  status: number,
  headers: IncomingHttpHeaders,
  bodyText: string,
  credential: string | undefined,
  extra = '',
): RegistryError {
  const errors = parseRegistryErrors(bodyText);
  // The server's words stay on one line and cannot move the cursor (see terminalSafe).
  const serverText = terminalSafe(
    errors.length
      ? errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ')
      : bodyText.trim().replace(/\s+/g, ' ').slice(0, 200),
  );
  const parts = [`${what}: registry ${host} answered HTTP ${status}`];
  if (serverText) parts[0] += `: ${serverText}`;
  if (extra) parts.push(extra);
  if (credential) parts.push(`credential: ${credential}`);
  const rl = rateLimitSummary(headers);
  if (status === 429 && rl) parts.push(`rate limit: ${rl}`);
  let hint: string | undefined;
  if (status === 401) hint = `check the credential for ${host}, or log in again`;
  else if (status === 403) hint = `the credential is valid but not allowed to access this repository`;
  else if (status === 429) hint = 'wait for the rate-limit window to reset, authenticate, or use a mirror';
  return new RegistryError(
    parts.length > 1 ? `${parts[0]} (${parts.slice(1).join('; ')})` : (parts[0] as string),
    status,
    errors.map((e) => e.code),
    { code: codeForStatus(status), ...(hint ? { hint } : {}) },
  );
}
