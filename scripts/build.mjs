#!/usr/bin/env node
// npm run build (and prepack): bundles the CLI with esbuild into dist/cli/. Each command's modules
// are split into their own chunk and loaded only when that command runs (main.ts imports them
// dynamically), so `contrast --version` loads commander and one small file. The npm dependencies are
// bundled too (issue 15): loading them from node_modules (undici, yaml: hundreds of CommonJS files,
// each resolved, read and wrapped) cost ~60 ms more CPU per `generate` than one chunk does (measured
// with `import()` of the generate chunk, 166 → 107 ms median; minifying gained nothing, so the code
// stays readable). Their licence texts go to dist/cli/THIRD-PARTY-NOTICES.txt. The rules and default
// settings ship beside the chunks, where `new URL('./rules.rego', import.meta.url)` finds them. Only
// what runs is shipped: no test code.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist/cli');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const result = await build({
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
  // Bundled CommonJS dependencies call require() for Node's built-in modules; an ES module has none.
  banner: {
    js: "import { createRequire as __contrastRequire } from 'node:module';\nconst require = __contrastRequire(import.meta.url);",
  },
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
// One notice per bundled package: its name, version and licence file, as the licences require.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.set(m[1], input.slice(0, m.index + m[0].length));
}
let notices = 'Third-party packages bundled into this directory, with their licences.\n';
for (const [name, dir] of [...packages].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const pkgDir = join(root, dir);
  const { version, license } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const file = readdirSync(pkgDir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  if (!file) throw new Error(`${name}: no licence file to ship with the bundle`);
  notices += `\n${'='.repeat(78)}\n${name} ${version} (${license})\n${'='.repeat(78)}\n\n`;
  notices += readFileSync(join(pkgDir, file), 'utf8').trimEnd() + '\n';
}
writeFileSync(join(out, 'THIRD-PARTY-NOTICES.txt'), notices);
cpSync(join(root, 'src/policy/rules.rego'), join(out, 'rules.rego'));
cpSync(join(root, 'src/policy/settings'), join(out, 'settings'), { recursive: true });
