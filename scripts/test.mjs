#!/usr/bin/env node
// The test command (npm test): type-check, start the registry lab (real distribution registries on
// 127.0.0.1) when its tools are installed, run every *.test.ts with node's test runner, stop the lab.
// Arguments narrow the run to files or directories: `npm test -- src/rego`.
//
// The tests run on JavaScript compiled once per run (esbuild, file by file, as tsx would) into a
// temporary copy of src/ and test/: under tsx every test process and every CLI child paid the
// loader and per-module transpile again, most of the suite's time. The copy holds links to every
// other file (testdata, rules, settings, scripts, package.json, node_modules), so paths relative to
// a module resolve as in the repository; test/helpers/shared.ts follows the package.json link
// back to the repository. `--no-typecheck` skips tsc, `--no-compile` runs the .ts files under tsx.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { pickLabPorts } from './lab-ports.mjs';

const root = resolve(import.meta.dirname, '..');
const labDir = join(root, 'test/lab');
const labState = process.env.LAB_STATE ?? join(labDir, 'state');
const args = process.argv.slice(2);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  return r.status ?? 1;
}

function findTests(path) {
  const st = statSync(path);
  if (st.isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) =>
    name === 'node_modules' || name === 'state' || name.startsWith('.') ? [] : findTests(join(path, name)),
  );
}

function haveLabTools() {
  return ['docker-registry', 'skopeo', 'umoci', 'htpasswd', 'openssl'].every(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0,
  );
}

function labRunning() {
  return spawnSync('bash', [join(labDir, 'lab.sh'), 'status'], {
    env: { ...process.env, LAB_STATE: labState },
    encoding: 'utf8',
  }).stdout?.includes('running');
}

/** Directories whose TypeScript the tests load; everything else is read from the repository. */
const COMPILED = ['src', 'test'];

function hasTs(dir) {
  return readdirSync(dir, { withFileTypes: true }).some((e) =>
    e.isDirectory() ? e.name !== 'state' && hasTs(join(dir, e.name)) : e.name.endsWith('.ts'),
  );
}

/** Mirrors `dir` into `out`: .ts files compiled (and linked, for tools that read the source), the rest linked. */
function mirror(dir, out, tsFiles) {
  mkdirSync(out, { recursive: true });
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, e.name);
    const to = join(out, e.name);
    if (e.isDirectory() && hasTs(from)) mirror(from, to, tsFiles);
    else {
      if (e.isFile() && e.name.endsWith('.ts')) tsFiles.push(from);
      symlinkSync(from, to);
    }
  }
}

/** Compiles src/ and test/ into a fresh temporary tree; returns its directory. */
async function compileTree() {
  const out = mkdtempSync(join(tmpdir(), 'contrast-test-'));
  // Everything else (package.json, node_modules, scripts, examples, …) is a link to the original.
  for (const name of readdirSync(root))
    if (!COMPILED.includes(name) && name !== '.git') symlinkSync(join(root, name), join(out, name));
  const tsFiles = [];
  for (const d of COMPILED) mirror(join(root, d), join(out, d), tsFiles);
  await build({
    absWorkingDir: root,
    entryPoints: tsFiles.filter((f) => !f.endsWith('.d.ts')),
    outbase: root,
    outdir: out,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20.18',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return out;
}

if (!args.includes('--no-typecheck')) {
  // Incremental: a rerun checks only what changed (the build info lives outside the repository).
  const key = createHash('sha256').update(root).digest('hex').slice(0, 16);
  const buildInfo = join(tmpdir(), `contrast-tsc-${key}.tsbuildinfo`);
  if (
    run('npx', [
      'tsc',
      '-p',
      'tsconfig.json',
      '--noEmit',
      '--incremental',
      '--tsBuildInfoFile',
      buildInfo,
    ]) !== 0
  ) {
    console.error('test: type check failed');
    process.exit(1);
  }
}

const env = { ...process.env };
let startedLab = false;
if (process.env.CONTRAST_NO_LAB) {
  console.error('test: CONTRAST_NO_LAB set: registry integration tests will skip');
} else if (haveLabTools()) {
  const wasRunning = labRunning();
  // A busy default port (another lab, another worktree) must not stop the tests: take free ones.
  let ports;
  try {
    ports = await pickLabPorts({ labEnvFile: join(labState, 'lab.env'), running: wasRunning });
  } catch (err) {
    console.error(`test: ${err.message}`);
    process.exit(1);
  }
  const labEnv = { ...process.env, ...ports, LAB_STATE: labState };
  console.error(`test: registry lab on 127.0.0.1 ports ${Object.values(ports).join(', ')}`);
  if (run('bash', [join(labDir, 'lab.sh'), 'up'], { env: labEnv }) !== 0) process.exit(1);
  if (
    run('bash', [join(labDir, 'lab.sh'), 'seed'], { env: labEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !==
    0
  )
    process.exit(1);
  startedLab = !wasRunning;
  for (const line of readFileSync(join(labState, 'lab.env'), 'utf8').split('\n')) {
    const m = /^export (\w+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
} else {
  console.error('test: docker-registry/skopeo/umoci not installed: registry integration tests will skip');
}

const targets = args.filter((a) => !a.startsWith('--'));
// node's own test flags pass through: `npm test -- --test-name-pattern=lock test/x.test.ts`.
const testFlags = args.filter((a) => a.startsWith('--test-'));
const files = (targets.length ? targets : ['src', 'test']).flatMap((t) =>
  existsSync(t) ? findTests(resolve(root, t)) : [],
);
files.sort();
// Every temporary file and directory the tests make goes under one directory, removed at the end:
// tests that leave theirs behind (a crash, a forgotten clean-up) do not fill the machine's /tmp.
const testTmp = mkdtempSync(join(tmpdir(), 'contrast-tests-'));
env.TMPDIR = testTmp;
let status;
if (args.includes('--no-compile')) {
  status = run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-reporter=spec', ...testFlags, ...files],
    { env },
  );
} else {
  const out = await compileTree();
  const compiled = files.map((f) => join(out, relative(root, f)).replace(/\.ts$/, '.js'));
  status = run(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      '--test-concurrency=4',
      '--test-reporter=spec',
      ...testFlags,
      ...compiled,
    ],
    { env },
  );
  rmSync(out, { recursive: true, force: true });
}
rmSync(testTmp, { recursive: true, force: true });

if (startedLab && !process.env.LAB_KEEP) {
  run('bash', [join(labDir, 'lab.sh'), 'down'], { env: { ...process.env, LAB_STATE: labState } });
}
process.exit(status);
