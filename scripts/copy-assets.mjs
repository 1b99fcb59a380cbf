#!/usr/bin/env node
// tsc compiles .ts only; the rules file and default settings ship beside the compiled code.
import { cpSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
for (const rel of ['policy/rules.rego', 'policy/settings']) {
  const from = join(root, 'src', rel);
  if (existsSync(from)) cpSync(from, join(root, 'dist', rel), { recursive: true });
}
