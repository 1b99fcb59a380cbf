import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DigestVerifier, digestOf, parseDigest, verifyBytes } from './digest.js';

const data = Buffer.from('hello world');
const sha256 = `sha256:${createHash('sha256').update(data).digest('hex')}`;
const sha512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;

test('parses sha256/sha512, refuses others and malformed values', () => {
  assert.equal(parseDigest(sha256).algorithm, 'sha256');
  assert.equal(parseDigest(sha512).algorithm, 'sha512');
  assert.throws(() => parseDigest('md5:abc'), /unsupported digest algorithm "md5"/);
  assert.throws(() => parseDigest('sha256:abc'), /invalid sha256 digest/);
  assert.throws(() => parseDigest('sha256:' + 'A'.repeat(64)), /invalid sha256 digest/);
  assert.throws(() => parseDigest('nodigest'), /invalid digest/);
});

test('verifies bytes with either algorithm and names the mismatch', () => {
  assert.equal(digestOf(data), sha256);
  assert.equal(digestOf(data, 'sha512'), sha512);
  verifyBytes(data, sha256, data.length, 'x');
  verifyBytes(data, sha512, undefined, 'x');
  assert.throws(
    () => verifyBytes(Buffer.from('hello worle'), sha256, undefined, 'blob b'),
    /blob b: digest mismatch: expected sha256:/,
  );
  assert.throws(() => verifyBytes(data, sha256, 5, 'blob b'), /more than the 5 bytes/);
  assert.throws(() => verifyBytes(data, sha256, 12, 'blob b'), /got 11 bytes, its descriptor declares 12/);
});

test('incremental verifier fails as soon as the size is exceeded, and on a short body', () => {
  const v = new DigestVerifier(sha256, data.length, 'blob');
  v.update(data.subarray(0, 5));
  assert.throws(() => v.finish(), /got 5 bytes, its descriptor declares 11/);
  const w = new DigestVerifier(sha256, 4, 'blob');
  assert.throws(() => w.update(data), /more than the 4 bytes/);
});
