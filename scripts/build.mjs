#!/usr/bin/env node
// npm run build (and prepack): bundles the CLI with esbuild into dist/cli/. Each command's modules
// are split into their own chunk and loaded only when that command runs (main.ts imports them
// dynamically), so `contrast --version` loads commander and one small file. Dependencies stay
// external (installed from npm). The rules and default settings ship beside the chunks, where
// `new URL('./rules.rego', import.meta.url)` finds them. Only what runs is shipped: no test code.
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist/cli');
rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // The layer worker thread is started from its own file (src/image/layer-workers.ts looks for
  // ./layer-worker.js beside the chunk that starts it), so it is a second entry point.
  entryPoints: { main: 'src/cli/main.ts', 'layer-worker': 'src/image/layer-worker.ts' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  packages: 'external',
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
cpSync(join(root, 'src/policy/rules.rego'), join(out, 'rules.rego'));
cpSync(join(root, 'src/policy/settings'), join(out, 'settings'), { recursive: true });
