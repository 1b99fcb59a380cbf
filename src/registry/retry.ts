// When to retry and how long to wait: bounded exponential backoff with jitter for transient failures
// (connection errors, 408, 429, 5xx gateways), honouring Retry-After, with a cap on total time.

export interface RetryPolicy {
  /** Retries after the first attempt (so attempts = maxRetries + 1). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry is started once this much time has passed since the first attempt. */
  maxTotalMs: number;
  /** Longest Retry-After we are willing to wait; longer ones fail right away with the server's figure. */
  retryAfterCapMs: number;
  /** 429 retries burn rate-limit quota; allow turning them off. */
  retryOn429: boolean;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 2,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxTotalMs: 120_000,
  retryAfterCapMs: 60_000,
  retryOn429: true,
};

const retryableStatuses = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number, policy: RetryPolicy = defaultRetryPolicy): boolean {
  if (status === 429) return policy.retryOn429;
  return retryableStatuses.has(status);
}

const retryableCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** The error code of a network error (undici wraps the socket error in `cause`). */
export function networkErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ERROR') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isRetryableError(err: unknown): boolean {
  const code = networkErrorCode(err);
  return code !== undefined && retryableCodes.has(code);
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries spread out but still grow. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `RateLimit-*` / Docker Hub rate-limit headers as one line for errors and debug logs ('' if none). */
export function rateLimitSummary(headers: Record<string, string | string[] | undefined>): string {
  const names = [
    'ratelimit-limit',
    'ratelimit-remaining',
    'ratelimit-reset',
    'docker-ratelimit-source',
    'retry-after',
  ];
  const parts: string[] = [];
  for (const n of names) {
    const v = headers[n];
    if (v !== undefined) parts.push(`${n}: ${Array.isArray(v) ? v.join(', ') : v}`);
  }
  return parts.join('; ');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
