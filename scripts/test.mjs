#!/usr/bin/env node
// The test command (npm test): type-check, start the registry lab (real distribution registries on
// 127.0.0.1) when its tools are installed, run every *.test.ts with node's test runner, stop the lab.
// Arguments narrow the run to files or directories: `npm test -- src/rego`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

if (!args.includes('--no-typecheck')) {
  if (run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']) !== 0) {
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
const files = (targets.length ? targets : ['src', 'test']).flatMap((t) =>
  existsSync(t) ? findTests(resolve(root, t)) : [],
);
files.sort();
const status = run(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-reporter=spec', ...files],
  { env },
);

if (startedLab && !process.env.LAB_KEEP) {
  run('bash', [join(labDir, 'lab.sh'), 'down'], { env: { ...process.env, LAB_STATE: labState } });
}
process.exit(status);
