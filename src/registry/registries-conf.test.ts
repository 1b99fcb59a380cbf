import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findRegistryEntry,
  loadRegistriesConf,
  parseRegistriesConf,
  pullSources,
} from './registries-conf.js';

const conf = parseRegistriesConf(`
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "mirror.example:5000/hub"
[[registry.mirror]]
location = "digest-mirror.example"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "docker.io/library/blocked"
location = "docker.io/library/blocked"
blocked = true

[[registry]]
prefix = "quay.io/org"
location = "internal.example/quay-org"
insecure = true

[[registry]]
prefix = "*.corp.example"
insecure = true
`);

test('mirrors first, then the primary; digest-only mirrors only for digests', () => {
  assert.deepEqual(pullSources(conf, 'docker.io', 'library/nginx', false), [
    { domain: 'mirror.example:5000', path: 'hub/library/nginx', insecure: false, mirror: true },
    { domain: 'docker.io', path: 'library/nginx', insecure: false, mirror: false },
  ]);
  assert.deepEqual(
    pullSources(conf, 'docker.io', 'library/nginx', true).map((s) => s.domain),
    ['mirror.example:5000', 'digest-mirror.example', 'docker.io'],
  );
});

test('longest prefix wins, locations are rewritten, blocked is an error', () => {
  assert.equal(findRegistryEntry(conf, 'docker.io/library/blocked')?.blocked, true);
  assert.throws(
    () => pullSources(conf, 'docker.io', 'library/blocked', false),
    /registry docker.io is blocked/,
  );
  assert.deepEqual(pullSources(conf, 'quay.io', 'org/app', false), [
    { domain: 'internal.example', path: 'quay-org/app', insecure: true, mirror: false },
  ]);
  // prefix matches whole path components only
  assert.deepEqual(pullSources(conf, 'quay.io', 'organization/app', false), [
    { domain: 'quay.io', path: 'organization/app', insecure: false, mirror: false },
  ]);
  assert.equal(pullSources(conf, 'reg.corp.example', 'a/b', false)[0]?.insecure, true);
  assert.equal(pullSources(conf, 'ghcr.io', 'a/b', false)[0]?.domain, 'ghcr.io');
});

test('load: explicit path, CONTAINERS_REGISTRIES_CONF, errors name the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regconf-'));
  const good = join(dir, 'good.conf');
  writeFileSync(good, '[[registry]]\nprefix = "a.example"\nlocation = "b.example"\n');
  assert.equal(loadRegistriesConf(good, {}).registries[0]?.location, 'b.example');
  assert.equal(loadRegistriesConf(undefined, { CONTAINERS_REGISTRIES_CONF: good }).registries.length, 1);
  assert.throws(
    () => loadRegistriesConf(join(dir, 'missing.conf'), {}),
    /cannot read registries config .*missing.conf/,
  );
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, '[[registry]]\nprefix = 5\n');
  assert.throws(() => loadRegistriesConf(bad, {}), /bad.conf: \[\[registry\]\] #1 prefix must be a string/);
  writeFileSync(bad, '[[registry]\n');
  assert.throws(() => loadRegistriesConf(bad, {}), /bad.conf: not valid TOML/);
});
