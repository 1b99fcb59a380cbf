import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientOptionsFromFlags } from './options.js';

test('CLI flags and CONTRAST_INSECURE_REGISTRIES map to client options', () => {
  const o = clientOptionsFromFlags(
    {
      authfile: '/a.json',
      caFile: '/ca.pem',
      insecureRegistry: ['h1:5000'],
      platform: 'linux/arm64',
      registriesConf: '/r.conf',
    },
    { CONTRAST_INSECURE_REGISTRIES: 'h2, http://h3:80' },
  );
  assert.deepEqual(o.insecureRegistries, ['h1:5000', 'h2', 'http://h3:80']);
  assert.equal(o.credentials?.authFile, '/a.json');
  assert.equal(o.caFile, '/ca.pem');
  assert.equal(o.registriesConf, '/r.conf');
  assert.deepEqual(o.platform, { os: 'linux', architecture: 'arm64' });
  assert.equal(clientOptionsFromFlags({}, {}).insecureRegistries, undefined);
  assert.throws(() => clientOptionsFromFlags({ platform: 'arm64' }, {}), /invalid platform "arm64"/);
});
