import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';

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

test('an unknown log level is a clear error', async () => {
  const r = await runCli(['--log-level', 'loud', 'auth', 'show', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--log-level: unknown level "loud"/);
});
