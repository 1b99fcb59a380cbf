import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelay,
  defaultRetryPolicy,
  isRetryableError,
  isRetryableStatus,
  parseRetryAfter,
  rateLimitSummary,
} from './retry.js';

test('transient statuses only; 429 retry can be turned off', () => {
  for (const s of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [400, 401, 403, 404, 405, 501]) assert.ok(!isRetryableStatus(s), String(s));
  assert.ok(!isRetryableStatus(429, { ...defaultRetryPolicy, retryOn429: false }));
});

test('network errors by code, including wrapped causes; TLS errors are not transient', () => {
  assert.ok(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
  assert.ok(
    isRetryableError(Object.assign(new Error('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } })),
  );
  assert.ok(!isRetryableError(Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })));
  assert.ok(!isRetryableError(new Error('plain')));
});

test('Retry-After as seconds or HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('backoff grows exponentially, is jittered and capped', () => {
  const p = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(
    backoffDelay(0, p, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(0, p, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(2, p, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(10, p, () => 1),
    1000,
  );
});

test('rate-limit summary shows Docker Hub headers', () => {
  assert.equal(
    rateLimitSummary({
      'ratelimit-limit': '100;w=21600',
      'ratelimit-remaining': '0;w=21600',
      'docker-ratelimit-source': '1.2.3.4',
    }),
    'ratelimit-limit: 100;w=21600; ratelimit-remaining: 0;w=21600; docker-ratelimit-source: 1.2.3.4',
  );
  assert.equal(rateLimitSummary({}), '');
});
