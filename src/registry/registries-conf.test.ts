import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

test('drop-ins beside the main file: lexical order, same prefix replaced, new prefixes added', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regconf-d-'));
  const main = join(dir, 'registries.conf');
  writeFileSync(
    main,
    `[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "old-mirror.example"

[[registry]]
prefix = "quay.io"
location = "quay.io"
blocked = true
`,
  );
  const d = join(dir, 'registries.conf.d');
  mkdirSync(d);
  // Read in lexical order: 10-… before 20-…, although written the other way round.
  writeFileSync(
    join(d, '20-mirror.conf'),
    '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "new-mirror.example"\n',
  );
  writeFileSync(
    join(d, '10-mirror.conf'),
    '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "mid-mirror.example"\n',
  );
  writeFileSync(
    join(d, '15-new.conf'),
    '[[registry]]\nprefix = "ghcr.io/org"\nlocation = "internal.example/ghcr"\n',
  );
  // Not *.conf, or a directory: ignored.
  writeFileSync(join(d, '99-ignored.conf.bak'), 'not toml [[[');
  mkdirSync(join(d, '50-dir.conf'));

  for (const conf of [
    loadRegistriesConf(main, {}),
    loadRegistriesConf(undefined, { CONTAINERS_REGISTRIES_CONF: main }),
  ]) {
    assert.deepEqual(
      conf.dropIns,
      ['10-mirror.conf', '15-new.conf', '20-mirror.conf'].map((f) => join(d, f)),
    );
    // the mirror of the last drop-in replaces the whole docker.io entry (no old or mid mirror left)
    assert.deepEqual(
      pullSources(conf, 'docker.io', 'library/nginx', false).map((s) => s.domain),
      ['new-mirror.example', 'docker.io'],
    );
    assert.deepEqual(pullSources(conf, 'ghcr.io', 'org/app', false), [
      { domain: 'internal.example', path: 'ghcr/app', insecure: false, mirror: false },
    ]);
    // untouched entries of the main file stay, and errors name the file that set them
    assert.throws(
      () => pullSources(conf, 'quay.io', 'a/b', false),
      /blocked by .*registries\.conf \(prefix "quay\.io"\)/,
    );
  }

  writeFileSync(join(d, '30-unblock.conf'), '[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n');
  assert.equal(pullSources(loadRegistriesConf(main, {}), 'quay.io', 'a/b', false)[0]?.domain, 'quay.io');
  writeFileSync(join(d, '40-block.conf'), '[[registry]]\nprefix = "quay.io"\nblocked = true\n');
  assert.throws(
    () => pullSources(loadRegistriesConf(main, {}), 'quay.io', 'a/b', false),
    /blocked by .*40-block\.conf/,
  );

  // An invalid drop-in is an error naming that file.
  writeFileSync(join(d, '25-bad.conf'), '[[registry]]\nprefix = "x.example"\ninsecure = "yes"\n');
  assert.throws(
    () => loadRegistriesConf(main, {}),
    /25-bad\.conf: \[\[registry\]\] #1 insecure must be true or false/,
  );
  writeFileSync(join(d, '25-bad.conf'), '[[registry]\n');
  assert.throws(() => loadRegistriesConf(main, {}), /25-bad\.conf: not valid TOML/);
});

test('without an explicit file: the user drop-in directory under $HOME applies', () => {
  const home = mkdtempSync(join(tmpdir(), 'regconf-home-'));
  const d = join(home, '.config', 'containers', 'registries.conf.d');
  mkdirSync(d, { recursive: true });
  writeFileSync(
    join(d, 'm.conf'),
    '[[registry]]\nprefix = "docker.io"\n[[registry.mirror]]\nlocation = "user-mirror.example"\n',
  );
  const conf = loadRegistriesConf(undefined, { HOME: home });
  assert.ok(conf.dropIns?.includes(join(d, 'm.conf')));
  assert.equal(pullSources(conf, 'docker.io', 'library/x', false)[0]?.domain, 'user-mirror.example');
});
