#!/usr/bin/env node
// npm run build (and prepack): bundles the CLI with esbuild into dist/cli/: main.cjs (the CLI),
// launch.js (bin/contrast.js's loader with the code cache) and layer-worker.js. Each command's modules
// are evaluated only when that command runs (main.ts imports them dynamically). The npm dependencies are
// bundled too (issue 15): loading them from node_modules (undici, yaml: hundreds of CommonJS files,
// each resolved, read and wrapped) cost ~60 ms more CPU per `generate` than one chunk does (measured
// with `import()` of the generate chunk, 166 → 107 ms median; minifying gained nothing, so the code
// stays readable). Their licence texts go to dist/cli/THIRD-PARTY-NOTICES.txt. The rules and default
// settings ship beside the bundle, where `new URL('./rules.rego', import.meta.url)` finds them. Only
// what runs is shipped: no test code.
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist/cli');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  outdir: out,
  bundle: true,
  platform: 'node',
  target: 'node20.18',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
};
// The CLI: one CommonJS file, which src/cli/launch.ts evaluates through node:vm with a V8 code cache
// (src/internal/compile-cache.ts: Node 20 cannot give an ES module cached data). Commands stay lazy:
// main.ts imports them dynamically, so their modules are evaluated only when they run, and V8 only
// pre-parses the rest (nothing at all once the cache holds it).
const cli = await build({
  ...common,
  entryPoints: { main: 'src/cli/main.ts' },
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // launch.ts passes the bundle's own file URL under this name. import.meta.resolve serves only the
  // sources run through tsx (layer-workers.ts), never the bundle.
  define: { 'import.meta.url': '__contrastImportMetaUrl', 'import.meta.resolve': 'undefined' },
});
// esbuild escapes non-ASCII characters in code but leaves them in the comments it keeps. The loader
// decodes an ASCII file as latin1 (a copy; UTF-8 decoding took 9–12 ms of a start), so the bundle is
// made ASCII: `\uXXXX` means the same character in a string, template, regular expression or
// identifier, and in a comment it is text.
const bundlePath = join(out, 'main.cjs');
const bundleText = readFileSync(bundlePath, 'utf8').replace(
  /[\u0080-\uffff]/g,
  (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
);
writeFileSync(bundlePath, bundleText);
// The loader knows the bundle by this digest, so it need not hash 2 MB at every start.
const bundleId = createHash('sha256').update(bundleText).digest('hex').slice(0, 32);
// Node's modules the bundle requires, which the loader loads before it changes a V8 flag (see
// src/internal/tiering.ts). node:sqlite is left out: undici only tries it, and Node 22 warns on load.
const builtins = [...new Set([...bundleText.matchAll(/\brequire\("node:([a-z0-9_/]+)"\)/g)].map((m) => m[1]))]
  .filter((name) => name !== 'sqlite')
  .sort();
// The loader itself, and the layer worker thread, which src/image/layer-workers.ts starts from
// ./layer-worker.js beside the bundle (a worker has no code cache: its start-up is mostly Node's).
const rest = await build({
  ...common,
  entryPoints: { launch: 'src/cli/launch.ts', 'layer-worker': 'src/image/layer-worker.ts' },
  format: 'esm',
  define: {
    __CONTRAST_BUNDLE_ID__: JSON.stringify(bundleId),
    __CONTRAST_BUILTINS__: JSON.stringify(builtins),
  },
  // Bundled CommonJS dependencies call require() for Node's built-in modules; an ES module has none.
  banner: {
    js: "import { createRequire as __contrastRequire } from 'node:module';\nconst require = __contrastRequire(import.meta.url);",
  },
});
const results = [cli, rest];
const inputs = Object.assign({}, ...results.map((r) => r.metafile.inputs));
// One notice per bundled package: its name, version and licence file, as the licences require.
const packages = new Map();
for (const input of Object.keys(inputs)) {
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
