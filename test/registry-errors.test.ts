// Errors that point at the cause (issue 13): a plain-HTTP registry named without --insecure-registry,
// and a registries.conf mirror whose answer must not be hidden behind the primary's.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
