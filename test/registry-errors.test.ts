// Errors that point at the cause (issue 13): a plain-HTTP registry named without --insecure-registry,
// and a registries.conf mirror whose answer must not be hidden behind the primary's.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { requireLab } from './helpers/lab.js';

it('a plain-HTTP registry on loopback: "speaks plain HTTP" and how to allow it, no OpenSSL string', async (t) => {
  const l = requireLab(t);
  if (!l) return;
  const r = await runCli(['image', 'inspect', `${l.a}/test/app:v1`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${l.a.replace(/\./g, '\\.')} speaks plain HTTP, not HTTPS`));
  assert.match(r.stderr, /^hint: add it with --insecure-registry /m);
  assert.doesNotMatch(r.stderr, /ssl3_get_record|WRONG_VERSION|wrong version number/i);
});

it('with a mirror, the error lists every endpoint tried, in order, with its answer', async (t) => {
  const l = requireLab(t);
  if (!l) return;
  const dir = mkdtempSync(join(tmpdir(), 'mirror-err-'));
  const conf = join(dir, 'registries.conf');
  writeFileSync(
    conf,
    `[[registry]]\nprefix = "registry.invalid"\nlocation = "registry.invalid"\n[[registry.mirror]]\nlocation = "${l.a}/mirror-err"\ninsecure = true\n`,
  );
  const r = await runCli(
    ['image', 'inspect', '--registries-conf', conf, 'registry.invalid/demo/missing:v1'],
    {
      timeoutMs: 120_000,
    },
  );
  assert.equal(r.code, 1);
  const lines = r.stderr.split('\n');
  const i = lines.findIndex((x) => /every endpoint failed/.test(x));
  assert.ok(i >= 0, r.stderr);
  assert.match(
    lines[i + 1]!,
    new RegExp(
      `^\\s+1\\. mirror ${l.a.replace(/\./g, '\\.')}/mirror-err/demo/missing: .*404.*MANIFEST_UNKNOWN`,
    ),
  );
  assert.match(
    lines[i + 2]!,
    /^\s+2\. registry registry\.invalid\/demo\/missing: .*(ENOTFOUND|EAI_AGAIN|cannot reach)/,
  );
});

it('every manifest and config is resolved before any layer is streamed: an unreachable pause image fails first', async (t) => {
  const l = requireLab(t);
  if (!l) return;
  const dir = mkdtempSync(join(tmpdir(), 'resolve-first-'));
  const yaml = join(dir, 'app.yaml');
  writeFileSync(
    yaml,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  runtimeClassName: contrast-cc\n  containers: [{name: c, image: "${l.a}/test/app:v1"}]\n`,
  );
  mkdirSync(join(dir, 'settings.d'));
  writeFileSync(
    join(dir, 'settings.d/10-pause.json'),
    JSON.stringify([
      {
        op: 'replace',
        path: '/cluster_config/pause_container_image',
        value: `${l.a}/test/no-such-pause:3.6`,
      },
    ]),
  );
  const cache = join(dir, 'layers-cache.json');
  const r = await runCli([
    'policy',
    'generate',
    yaml,
    '--settings-drop-in',
    join(dir, 'settings.d'),
    '--insecure-registry',
    l.a,
    '--cache',
    cache,
    '--no-progress',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no-such-pause/);
  // Layers analysed would have been written to the cache (it is saved even when the run fails).
  assert.equal(existsSync(cache), false, 'no layer of test/app was downloaded');
});

it('image analyze keeps its layer cache in $XDG_CACHE_HOME/contrast, not in the working directory', async (t) => {
  const l = requireLab(t);
  if (!l) return;
  const cwd = mkdtempSync(join(tmpdir(), 'cache-cwd-'));
  const xdg = mkdtempSync(join(tmpdir(), 'cache-xdg-'));
  const r = await runCli(
    ['image', 'analyze', '--insecure-registry', l.a, '--no-progress', `${l.a}/test/app:v1`],
    {
      cwd,
      env: { ...process.env, XDG_CACHE_HOME: xdg },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(cwd), []);
  assert.ok(existsSync(join(xdg, 'contrast/layers-cache.json')));
});
