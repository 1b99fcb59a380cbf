import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, runCliProcess } from './helpers/cli.js';
import { repoRoot } from './helpers/shared.js';

test('contrast --help lists every command', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const cmd of [
    'generate',
    'login',
    'logout',
    'mirror',
    'pull-secret',
    'auth',
    'image',
    'policy',
    'registry',
  ]) {
    assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
  }
});

// Real processes: the exit status and output of src/cli/main.ts run as a program, not only main().
test('an unknown log level is a clear error', async () => {
  const r = await runCliProcess(['--log-level', 'loud', 'auth', 'show', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--log-level: unknown level "loud"/);
});

test('contrast --version prints the package version', async () => {
  const r = await runCliProcess(['--version']);
  assert.equal(r.code, 0);
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.stdout.split('\n')[0], pkg.version);
  assert.match(r.stdout, /\nContrast release: /);
});
