// npm run bench startup: how long `contrast --version` and `contrast --help` take from the built
// package (dist/, what `npm install -g` runs), against a bare `node -e 0` in the same run. Target
// (issue 13): at most 2× the bare node start. Runs are interleaved so machine load hits all alike.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_STARTUP_RUNS'] ?? 21);
const TARGET_RATIO = 2;

function ms(argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')} exited with ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const main = join(repo, 'dist/cli/main.cjs');
  const stale = !existsSync(main) || statSync(main).mtimeMs < statSync(join(repo, 'src/cli/main.ts')).mtimeMs;
  if (stale) {
    console.log('startup: building dist/ (npm run build)');
    const b = spawnSync(process.execPath, [join(repo, 'scripts/build.mjs')], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('build failed');
  }
  const bin = join(repo, 'bin/contrast.js');
  const cases: Array<{ label: string; argv: string[] }> = [
    { label: 'node -e 0', argv: ['-e', '0'] },
    { label: 'contrast --version', argv: [bin, '--version'] },
    { label: 'contrast --help', argv: [bin, '--help'] },
    { label: 'contrast policy eval --help', argv: [bin, 'policy', 'eval', '--help'] },
  ];
  const times = new Map(cases.map((c) => [c.label, [] as number[]]));
  for (const c of cases) ms(c.argv); // warm the file cache
  for (let i = 0; i < RUNS; i++) for (const c of cases) times.get(c.label)!.push(ms(c.argv));
  const base = median(times.get('node -e 0')!);
  console.log(`startup: median of ${RUNS} interleaved runs each (target ≤ ${TARGET_RATIO}× node -e 0)`);
  for (const c of cases) {
    const m = median(times.get(c.label)!);
    const ratio = m / base;
    const verdict =
      c.label === 'node -e 0' ? '' : c.label.includes('eval') ? '' : ratio <= TARGET_RATIO ? ' ✔' : ' ✘';
    console.log(`  ${c.label.padEnd(30)} ${m.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}×${verdict}`);
  }
}
