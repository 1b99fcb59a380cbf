import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache } from './token-cache.js';

test('caches until expiry, shares in-flight fetches, invalidates on demand', async () => {
  let now = 1000;
  const cache = new TokenCache(() => now);
  let fetches = 0;
  const fetch = async () => ({ token: `t${++fetches}`, expiresAt: now + 100 });
  const [a, b] = await Promise.all([cache.get('k', fetch), cache.get('k', fetch)]);
  assert.equal(a.token, 't1');
  assert.equal(b.token, 't1');
  assert.equal((await cache.get('k', fetch)).token, 't1');
  now += 101;
  assert.equal((await cache.get('k', fetch)).token, 't2');
  cache.invalidate('k');
  assert.equal((await cache.get('k', fetch)).token, 't3');
  assert.equal((await cache.get('other', fetch)).token, 't4');
});

test('a failed fetch is not cached', async () => {
  const cache = new TokenCache();
  await assert.rejects(
    cache.get('k', () => Promise.reject(new Error('down'))),
    /down/,
  );
  assert.equal(
    (await cache.get('k', async () => ({ token: 'ok', expiresAt: Date.now() + 1e6 }))).token,
    'ok',
  );
});
