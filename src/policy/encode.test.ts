import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import { policyHash } from '../contrast/initdata.js';
import { finishInitdata, planInitdata } from './encode.js';
import { decodeInitdataValue, decodeInitdataValueAsync } from './initdata.js';
import {
  decodeInitdata,
  encodeInitdata,
  withInitdataEntries,
  encodeLegacy,
  initdataToml,
  INITDATA_ANNOTATION,
  POLICY_ANNOTATION,
  policyText,
} from './index.js';
import type { PolicyData } from './index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const text = policyText('package agent_policy\n\ndefault X := true\n', {
  containers: [],
} as unknown as PolicyData);

test('policy text: rules, then policy_data as pretty JSON, no trailing newline', () => {
  assert.equal(text, 'package agent_policy\n\ndefault X := true\n\npolicy_data := {\n  "containers": []\n}');
});

test('legacy encoding: base64 of the policy text, hash = sha256 of the text', () => {
  const e = encodeLegacy(text);
  assert.equal(e.annotationKey, POLICY_ANNOTATION);
  assert.equal(Buffer.from(e.annotationValue, 'base64').toString(), text);
  assert.ok(!e.annotationValue.includes('\n'));
  assert.equal(e.hash, sha(text));
});

test('initdata encoding: base64(gzip(TOML)), policy under data."policy.rego", hash = sha256 of the TOML', () => {
  const e = encodeInitdata(text);
  assert.equal(e.annotationKey, INITDATA_ANNOTATION);
  const toml = gunzipSync(Buffer.from(e.annotationValue, 'base64')).toString();
  assert.equal(toml, e.initdata);
  assert.equal(e.hash, sha(toml));
  const doc = parse(toml) as { version: string; algorithm: string; data: Record<string, string> };
  assert.equal(doc.version, '0.1.0');
  assert.equal(doc.algorithm, 'sha256');
  assert.deepEqual({ ...doc.data }, { 'policy.rego': text });
});

test('initdata: other data keys of an existing annotation are kept, the policy replaced', () => {
  const existing = gzipSync(initdataToml('old policy', { 'contrast.insecure-debug': 'true' })).toString(
    'base64',
  );
  const e = encodeInitdata(text, existing);
  assert.deepEqual(decodeInitdata(e.annotationValue).data, {
    'policy.rego': text,
    'contrast.insecure-debug': 'true',
  });
});

test('texts a literal TOML string cannot hold fall back to an escaped string', () => {
  for (const t of ["a ''' b", "ends with quote'", 'ctrl \u0001 char', 'tab\tand\r\nCRLF']) {
    assert.equal(decodeInitdata(encodeInitdata(t).annotationValue).data['policy.rego'], t);
  }
});

test('encoding is deterministic', () => {
  assert.equal(encodeInitdata(text).hash, encodeInitdata(text).hash);
  assert.equal(encodeInitdata(text).annotationValue, encodeInitdata(text).annotationValue);
});

// Issue 15: the encoder no longer decodes + parses the annotation three times (carry-over, debug entry,
// manifest digest). The old pipeline, written out, is the reference: encode with carried-over entries,
// then set/remove entries on the result, then the digest decoded back from the annotation.
function oldPipeline(
  policy: string,
  existing: string | undefined,
  entries: Record<string, string | undefined>,
): { value: string; hash: string } {
  const value = withInitdataEntries(encodeInitdataOld(policy, existing), entries);
  const toml = gunzipSync(Buffer.from(value, 'base64')).toString();
  return { value, hash: sha(toml) };
}
function encodeInitdataOld(policy: string, existing: string | undefined): string {
  const extra: Record<string, string> = {};
  if (existing)
    for (const [k, v] of Object.entries(decodeInitdata(existing).data)) if (k !== 'policy.rego') extra[k] = v;
  return gzipSync(initdataToml(policy, extra)).toString('base64');
}

test('initdata: same value and digest as decoding, parsing and re-encoding (property)', async () => {
  const key = fc.constantFrom('contrast.insecure-debug', 'a', 'z.key', 'policy.rego.bak');
  const val = fc.oneof(fc.constant('true'), fc.string({ maxLength: 8 }));
  const policy = fc.oneof(fc.constant(text), fc.string({ maxLength: 40 }), fc.constant("x'''y"));
  await fc.assert(
    fc.asyncProperty(
      policy,
      fc.option(fc.tuple(policy, fc.dictionary(key, val, { maxKeys: 3 })), { nil: undefined }),
      fc.dictionary(key, fc.option(val, { nil: undefined }), { maxKeys: 2 }),
      async (p, prior, entries) => {
        const existing = prior ? gzipSync(initdataToml(prior[0], prior[1])).toString('base64') : undefined;
        const want = oldPipeline(p, existing, entries);
        const sync = encodeInitdata(p, existing, entries);
        const viaPool = await finishInitdata(planInitdata(p, existing, entries));
        // The same TOML (its gzip bytes differ where the rules are deflated once for all
        // workloads: see initdata.test.ts), and the same bytes from either encoder.
        assert.equal(viaPool.annotationValue, sync.annotationValue);
        for (const got of [sync, viaPool]) {
          assert.equal(decodeInitdataValue(got.annotationValue), decodeInitdataValue(want.value));
          assert.equal(got.hash, want.hash);
          assert.equal(got.hash, policyHash(INITDATA_ANNOTATION, got.annotationValue));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('initdata: a re-run keeps an annotation that already holds our TOML (no re-encode)', () => {
  const toml = initdataToml(text, { 'contrast.insecure-debug': 'true' });
  // Written by another gzip (level 1, a file name in the header): other bytes, same TOML.
  const foreign = gzipSync(toml, { level: 1 }).toString('base64');
  const e = encodeInitdata(text, foreign, { 'contrast.insecure-debug': 'true' });
  assert.equal(e.annotationValue, foreign);
  assert.equal(e.hash, sha(toml));
  // Anything else in it (another policy, another entry) is re-encoded, the entries carried over.
  const other = encodeInitdata(text, foreign, { 'contrast.insecure-debug': undefined });
  assert.notEqual(other.annotationValue, foreign);
  assert.deepEqual(decodeInitdata(other.annotationValue).data, { 'policy.rego': text });
});

test('initdata decoded in the pool: same TOML and the same error as the synchronous decode', async () => {
  const value = encodeInitdata(text).annotationValue;
  assert.equal(await decodeInitdataValueAsync(value), decodeInitdataValue(value));
  let syncErr: unknown;
  try {
    decodeInitdataValue('bm90IGd6aXA=');
  } catch (err) {
    syncErr = err;
  }
  await assert.rejects(decodeInitdataValueAsync('bm90IGd6aXA='), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BAD_INITDATA');
    assert.equal(err.message, (syncErr as Error).message);
    return true;
  });
});
