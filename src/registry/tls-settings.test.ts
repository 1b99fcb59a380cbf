import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { tlsSettingsFor } from './tls.js';

const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;

test('no extra material: Node defaults (undefined); insecure: verification off', () => {
  assert.equal(tlsSettingsFor('r.example', false, { certsDirs: [], env: {} }), undefined);
  assert.equal(tlsSettingsFor('r.example', true, { certsDirs: [], env: {} })?.rejectUnauthorized, false);
});

test('certs.d per host (port-aware; :443 also matches the bare host), roots kept', () => {
  const root = mkdtempSync(join(tmpdir(), 'certsd-'));
  mkdirSync(join(root, 'r.example:5000'));
  writeFileSync(join(root, 'r.example:5000', 'ca.crt'), pem('A'));
  mkdirSync(join(root, 'r.example'));
  writeFileSync(join(root, 'r.example', 'ca.crt'), pem('B'));
  const s = tlsSettingsFor('r.example:5000', false, { certsDirs: [root], env: {} });
  assert.ok(s?.ca?.includes(pem('A')));
  assert.ok(!s?.ca?.includes(pem('B')));
  assert.equal(s?.ca?.length, rootCertificates.length + 1, 'bundled roots stay trusted');
  assert.ok(tlsSettingsFor('r.example:443', false, { certsDirs: [root], env: {} })?.ca?.includes(pem('B')));
  assert.equal(tlsSettingsFor('other.example', false, { certsDirs: [root], env: {} }), undefined);
});

test('a client certificate without its key is a clear error', () => {
  const root = mkdtempSync(join(tmpdir(), 'certsd-'));
  mkdirSync(join(root, 'r.example'));
  writeFileSync(join(root, 'r.example', 'client.cert'), pem('C'));
  assert.throws(
    () => tlsSettingsFor('r.example:443', false, { certsDirs: [root], env: {} }),
    /client certificate .*client.cert has no matching key .*client.key/,
  );
  assert.throws(
    () => tlsSettingsFor('x', false, { caFile: join(root, 'missing.pem'), certsDirs: [], env: {} }),
    /cannot read CA file .*missing.pem/,
  );
});
