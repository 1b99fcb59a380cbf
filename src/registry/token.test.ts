import { test } from 'node:test';
import assert from 'node:assert/strict';
import { minTokenLifetimeSeconds, parseTokenResponse, tokenErrorText, tokenExpirySkewMs } from './token.js';

test('takes token, else access_token; expiry from issued_at, at least 60 s', () => {
  const at = Date.parse('2026-01-01T00:00:00Z');
  assert.deepEqual(parseTokenResponse('{"token":"a","access_token":"b","expires_in":300}', at), {
    token: 'a',
    expiresAt: at + 300_000 - tokenExpirySkewMs,
  });
  assert.equal(parseTokenResponse('{"access_token":"b"}', at).token, 'b');
  assert.equal(
    parseTokenResponse('{"token":"a","expires_in":5}', at).expiresAt,
    at + minTokenLifetimeSeconds * 1000 - tokenExpirySkewMs,
  );
  assert.equal(
    parseTokenResponse('{"token":"a","expires_in":120,"issued_at":"2026-01-01T00:01:00Z"}', 0).expiresAt,
    at + 60_000 + 120_000 - tokenExpirySkewMs,
  );
  assert.throws(() => parseTokenResponse('{"token":""}', at), /neither `token` nor `access_token`/);
  assert.throws(() => parseTokenResponse('nope', at), /not JSON/);
});

test('error text from OAuth2 and distribution bodies', () => {
  assert.equal(tokenErrorText('{"error":"invalid_grant"}'), 'invalid_grant');
  assert.equal(
    tokenErrorText('{"error":"invalid_grant","error_description":"bad token"}'),
    'invalid_grant: bad token',
  );
  assert.equal(tokenErrorText('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}'), 'UNAUTHORIZED: no');
  assert.equal(tokenErrorText('plain text\n'), 'plain text');
});
