import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  credentialTarget,
  dockerConfigKey,
  normalizeRegistryHost,
  parseConfigKey,
  registryId,
} from './host.js';
import { matchingKeys } from './match.js';

describe('normalizeRegistryHost', () => {
  const cases: Array<[string, string]> = [
    ['quay.io', 'quay.io'],
    ['https://quay.io', 'quay.io'],
    ['http://quay.io/', 'quay.io'],
    ['https://quay.io/v2/some/path', 'quay.io'],
    ['Quay.IO', 'quay.io'],
    ['registry.example.com:5000', 'registry.example.com:5000'],
    ['https://registry.example.com:5000/v1/', 'registry.example.com:5000'],
    ['localhost:5001', 'localhost:5001'],
    ['[::1]:5000', '[::1]:5000'],
    ['https://[2001:DB8::1]:5000/', '[2001:db8::1]:5000'],
    ['docker.io', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['https://docker.io/v1/', 'docker.io'],
    ['http://docker.io/v1/', 'docker.io'],
    ['  quay.io  ', 'quay.io'],
    ['quay.io/org/repo', 'quay.io'],
    ['docker.io:443', 'docker.io:443'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => assert.equal(normalizeRegistryHost(input), expected));
  }
});

describe('config keys and targets', () => {
  it('keeps namespaces of scheme-less keys only', () => {
    assert.deepEqual(parseConfigKey('quay.io/org/repo'), { registry: 'quay.io', namespace: 'org/repo' });
    assert.deepEqual(parseConfigKey('https://quay.io/org/repo'), { registry: 'quay.io' });
    assert.deepEqual(parseConfigKey('quay.io/'), { registry: 'quay.io' });
    assert.deepEqual(parseConfigKey('index.docker.io/myorg'), { registry: 'docker.io', namespace: 'myorg' });
  });

  it("uses Docker's key spelling for Docker Hub and host[:port] otherwise", () => {
    assert.equal(dockerConfigKey('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(dockerConfigKey('registry-1.docker.io'), 'https://index.docker.io/v1/');
    assert.equal(dockerConfigKey('https://Quay.io/'), 'quay.io');
    assert.equal(dockerConfigKey('127.0.0.1:5001'), '127.0.0.1:5001');
  });

  it('reads registries, URLs and image references as targets', () => {
    assert.deepEqual(credentialTarget('127.0.0.1:5001'), { registry: '127.0.0.1:5001' });
    assert.deepEqual(credentialTarget('localhost'), { registry: 'localhost' });
    assert.deepEqual(credentialTarget('https://index.docker.io/v1/'), { registry: 'docker.io' });
    assert.deepEqual(credentialTarget('[::1]:5000'), { registry: '[::1]:5000' });
    const image = credentialTarget('127.0.0.1:5001/test/app:v1');
    assert.equal(image.registry, '127.0.0.1:5001');
    assert.equal(image.path, 'test/app');
    const hub = credentialTarget('nginx');
    assert.equal(hub.registry, 'docker.io');
    assert.equal(hub.path, 'library/nginx');
    assert.equal(credentialTarget('index.docker.io/library/nginx').registry, 'docker.io');
    assert.deepEqual(credentialTarget('registry:5000/'), { registry: 'registry:5000' });
    assert.deepEqual(credentialTarget('10.0.0.5:5000'), { registry: '10.0.0.5:5000' });
    assert.deepEqual(credentialTarget('localhost:5001'), { registry: 'localhost:5001' });
    for (const [image, path] of [
      ['redis:7', 'library/redis'],
      ['registry:5000', 'library/registry'],
      ['nginx:1.27-alpine', 'library/nginx'],
      ['ubuntu:22.04', 'library/ubuntu'],
    ]) {
      const t = credentialTarget(image as string);
      assert.equal(t.registry, 'docker.io', image);
      assert.equal(t.path, path, image);
    }
    assert.throws(() => credentialTarget('https://'), /not a registry/);
    assert.equal(credentialTarget('bad_host.io:x').path, 'library/bad_host.io'); // a valid Hub image name
    assert.throws(() => credentialTarget('bad host.io'), /invalid image reference/);
    assert.throws(() => registryId('a b'), /not a registry/);
  });
});

describe('matchingKeys', () => {
  const map = Object.fromEntries(
    [
      'quay.io',
      'https://quay.io',
      'quay.io/a',
      'quay.io/a/b',
      'quay.io/a/b/img',
      'quay.io/ab',
      'quay.io:443',
      'other.io',
    ].map((k) => [k, {}]),
  );
  it('orders namespaced keys most specific first, then host keys, exact spelling first', () => {
    assert.deepEqual(matchingKeys(map, { registry: 'quay.io', path: 'a/b/img' }), [
      'quay.io/a/b/img',
      'quay.io/a/b',
      'quay.io/a',
      'quay.io',
      'https://quay.io',
    ]);
  });
  it('does not apply a namespace to sibling repositories or to registry-only lookups', () => {
    assert.deepEqual(matchingKeys(map, { registry: 'quay.io', path: 'abc/x' }), [
      'quay.io',
      'https://quay.io',
    ]);
    assert.deepEqual(matchingKeys(map, { registry: 'quay.io' }), ['quay.io', 'https://quay.io']);
  });
  it('keeps ports significant', () => {
    assert.deepEqual(matchingKeys(map, { registry: 'quay.io:443' }), ['quay.io:443']);
  });
  it("prefers Docker's Hub key, then the lexicographically smallest alias", () => {
    const hub = Object.fromEntries(
      ['registry-1.docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'docker.io'].map((k) => [
        k,
        {},
      ]),
    );
    assert.deepEqual(matchingKeys(hub, { registry: 'docker.io', path: 'library/nginx' }), [
      'https://index.docker.io/v1/',
      'docker.io',
      'index.docker.io',
      'registry-1.docker.io',
    ]);
    const noDockerKey = { 'registry-1.docker.io': {}, 'index.docker.io': {} };
    assert.deepEqual(matchingKeys(noDockerKey, { registry: 'docker.io' }), [
      'index.docker.io',
      'registry-1.docker.io',
    ]);
  });
});
