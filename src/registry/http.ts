// One HTTP exchange with the registry world: manual redirects (Authorization only for the origin it
// was meant for, never on pre-signed storage URLs, never https→http unless that host is insecure),
// retries with backoff for transient failures, request counting and debug lines without secrets.
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { log } from '../internal/log.js';
import type { Connections } from './connection.js';
import {
  backoffDelay,
  defaultRetryPolicy,
  isRetryableError,
  isRetryableStatus,
  networkErrorCode,
  parseRetryAfter,
  rateLimitSummary,
  sleep,
  type RetryPolicy,
} from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SendInit {
  method: HttpMethod;
  headers?: Record<string, string>;
  /** A Readable body cannot be replayed: such requests are neither retried nor redirected. */
  body?: string | Uint8Array | Readable | null;
  /** Sent only to `authOrigin` (default: the first URL's origin), never to pre-signed URLs. */
  authorization?: string;
  /** The registry's own origin: the only one that may receive `authorization`. */
  authOrigin?: URL;
  /** For debug lines: `bearer`, `basic`, `none`. */
  authLabel?: string;
  followRedirects?: boolean;
  /** Aborts the exchange (deadline); its reason, a ContrastError, is what the caller gets. */
  signal?: AbortSignal;
  /** The body holds a credential (OAuth2 refresh token): never re-sent to another origin by a redirect. */
  secretBody?: boolean;
  /** Retry transient failures (default true unless the body is a stream). */
  retry?: boolean;
  /** Extra statuses that must not be retried even if normally transient. */
  what: string;
}

export interface SendResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that produced this response (after redirects). */
  url: URL;
}

const maxRedirects = 10;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** URL for logs: origin and path only; query strings can hold signatures. */
export function loggableUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

/** Pre-signed storage URLs carry their own auth; a second mechanism breaks S3 and leaks the token. */
export function isPresignedUrl(url: URL): boolean {
  const q = url.searchParams;
  return q.has('X-Amz-Algorithm') || q.has('X-Amz-Signature') || q.has('sig') || q.has('Signature');
}

export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && portOf(a) === portOf(b);
}

function portOf(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

export function hostPortOf(u: URL): string {
  return u.host;
}

/** The first value of a response header (undici gives repeated headers as an array). */
export function headerValue(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

const tlsErrorCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export class HttpSender {
  private count = 0;

  constructor(
    readonly connections: Connections,
    readonly retry: RetryPolicy = defaultRetryPolicy,
    readonly isInsecure: (hostPort: string) => boolean = () => false,
  ) {}

  get requests(): number {
    return this.count;
  }

  /** One attempt, following redirects by hand. */
  async sendOnce(url: URL, init: SendInit): Promise<SendResult> {
    const authOrigin = init.authOrigin ?? url;
    let method = init.method;
    let body = init.body ?? null;
    let current = url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'contrast', ...(init.headers ?? {}) };
      const withAuth =
        init.authorization !== undefined && sameOrigin(current, authOrigin) && !isPresignedUrl(current);
      if (withAuth) headers['authorization'] = init.authorization as string;
      const started = Date.now();
      this.count++;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.connections.dispatcher(current).request({
          origin: current.origin,
          path: `${current.pathname}${current.search}`,
          method,
          headers,
          body,
          ...(init.signal ? { signal: init.signal } : {}),
        });
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        log.debug(`${method} ${loggableUrl(current)} failed: ${networkErrorCode(err) ?? errorMessage(err)}`);
        throw err;
      }
      const proxy = this.connections.proxyFor(current);
      log.debug(
        `${method} ${loggableUrl(current)} -> ${res.statusCode} (${Date.now() - started} ms, auth: ${withAuth ? (init.authLabel ?? 'yes') : 'none'}${proxy ? `, proxy ${proxy}` : ''})`,
      );
      const rl = rateLimitSummary(res.headers);
      if (rl) log.debug(`  ${rl}`);
      if (!redirectStatuses.has(res.statusCode) || init.followRedirects === false) {
        return { status: res.statusCode, headers: res.headers, body: res.body, url: current };
      }
      const location = headerValue(res.headers, 'location');
      await res.body.dump();
      if (!location) {
        throw new ContrastError(
          `${init.what}: ${current.host} answered ${res.statusCode} without a Location header`,
          {
            code: 'REDIRECT_INVALID',
          },
        );
      }
      if (hop >= maxRedirects) {
        throw new ContrastError(`${init.what}: more than ${maxRedirects} redirects`, {
          code: 'REDIRECT_LOOP',
        });
      }
      const next = new URL(location, current);
      if (current.protocol === 'https:' && next.protocol === 'http:' && !this.isInsecure(next.host)) {
        throw new ContrastError(
          `${init.what}: refusing redirect from ${current.origin} to plain-HTTP ${next.origin}`,
          {
            code: 'REDIRECT_INSECURE',
            hint: `mark ${next.host} as an insecure registry if this is intended`,
          },
        );
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new ContrastError(`${init.what}: refusing redirect to ${next.protocol} URL`, {
          code: 'REDIRECT_INVALID',
        });
      }
      if (body && typeof (body as Readable).pipe === 'function') {
        throw new ContrastError(`${init.what}: cannot follow a redirect with a streamed request body`, {
          code: 'REDIRECT_INVALID',
        });
      }
      if (
        res.statusCode === 303 ||
        ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = null;
      }
      if (init.secretBody && body !== null && !sameOrigin(next, current)) {
        throw new ContrastError(
          `${init.what}: ${current.origin} redirected a request carrying a credential to ${next.origin}; refusing to send it to another origin`,
          { code: 'REDIRECT_CREDENTIAL' },
        );
      }
      log.debug(
        `  redirect to ${loggableUrl(next)}${sameOrigin(next, authOrigin) ? '' : ' (other origin: no Authorization)'}`,
      );
      current = next;
    }
  }

  /**
   * Sends with retries for connection errors and 408/429/5xx. After the last attempt the final response
   * is returned as is (so the caller can report status, body and rate-limit headers).
   */
  async send(url: URL, init: SendInit): Promise<SendResult> {
    const streamed = !!init.body && typeof (init.body as Readable).pipe === 'function';
    const mayRetry = init.retry !== false && !streamed;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const last = !mayRetry || attempt >= this.retry.maxRetries;
      let res: SendResult;
      try {
        res = await this.sendOnce(url, init);
      } catch (err) {
        if (err instanceof ContrastError) throw err;
        const delay = backoffDelay(attempt, this.retry);
        if (last || !isRetryableError(err) || Date.now() - started + delay > this.retry.maxTotalMs) {
          throw networkError(url, init.what, err, attempt + 1);
        }
        log.debug(
          `  ${networkErrorCode(err)}: retrying in ${delay} ms (attempt ${attempt + 2}/${this.retry.maxRetries + 1})`,
        );
        await sleep(delay);
        init.signal?.throwIfAborted();
        continue;
      }
      if (last || !isRetryableStatus(res.status, this.retry)) return res;
      let delay = backoffDelay(attempt, this.retry);
      const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
      if (retryAfter !== undefined) {
        if (retryAfter > this.retry.retryAfterCapMs) return res; // do not sit out a long ban; report it
        delay = Math.max(retryAfter, 0);
      }
      if (Date.now() - started + delay > this.retry.maxTotalMs) return res;
      log.debug(
        `  ${res.status}: retrying in ${delay} ms (attempt ${attempt + 2}/${this.retry.maxRetries + 1})`,
      );
      await res.body.dump();
      await sleep(delay);
      init.signal?.throwIfAborted();
    }
  }
}

export function networkError(url: URL, what: string, err: unknown, attempts: number): ContrastError {
  const code = networkErrorCode(err);
  const message = errorMessage(err).split('\n')[0] ?? '';
  const detail = code && !message.includes(code) ? `${code}: ${message}` : message;
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  // A TLS hello answered with plain HTTP: OpenSSL says "wrong version number" (ssl3_get_record),
  // which tells a user nothing. Name the cause and the fix instead.
  if (
    url.protocol === 'https:' &&
    (code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
      code === 'ERR_SSL_HTTP_REQUEST' ||
      /wrong version number|http request/i.test(message))
  ) {
    return new ContrastError(`${what}: ${url.host} speaks plain HTTP, not HTTPS`, {
      code: 'PLAIN_HTTP',
      cause: err,
      hint: `add it with --insecure-registry ${url.host} or as insecure = true in registries.conf ([[registry]] location = "${url.host}")`,
    });
  }
  if (code && tlsErrorCodes.has(code)) {
    return new ContrastError(`${what}: TLS verification of ${url.host} failed (${detail})`, {
      code: 'TLS_VERIFY',
      cause: err,
      hint: `trust the registry's CA with --ca-file, NODE_EXTRA_CA_CERTS or certs.d/${url.host}/ca.crt, or (test setups only) mark ${url.host} insecure`,
    });
  }
  return new ContrastError(`${what}: cannot reach ${url.origin}${tries} (${detail})`, {
    code: 'UNREACHABLE',
    cause: err,
  });
}

/** Reads a (small) response body as text, bounded: past `limit` the rest is not waited for. */
export async function readText(body: Dispatcher.ResponseData['body'], limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break; // leaving the loop destroys the body: an endless one cannot hold us
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}
