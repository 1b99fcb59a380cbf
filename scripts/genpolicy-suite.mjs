#!/usr/bin/env node
// Prints the two genpolicy-suite figures (src/policy/genpolicy-suite.test.ts): Kata genpolicy's
// policy test cases (../shared/kata-genpolicy) replayed on policies our generator writes, with our
// rules + genpolicy's settings, and with genpolicy's rules + our data. Starts the registry lab like
// `npm test` (the equivalent images are pushed there). GENPOLICY_SUITE_EXPLAIN=1 adds --explain
// output for every case the suite allows and we refuse.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const r = spawnSync(
  process.execPath,
  [resolve(root, 'scripts/test.mjs'), '--no-typecheck', 'src/policy/genpolicy-suite.test.ts'],
  { cwd: root, encoding: 'utf8', env: process.env, maxBuffer: 1 << 28 },
);
const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
const lines = out
  .split('\n')
  .filter((l) =>
    /^genpolicy suite|^ {2}\S+#\d+ |^# (pass|fail|skip)|^ℹ (pass|fail|skipped)|skipped|# SKIP/.test(l),
  );
console.log(lines.join('\n'));
process.exit(r.status ?? 1);
