import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import {
  decodeInitdata,
  encodeInitdata,
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
