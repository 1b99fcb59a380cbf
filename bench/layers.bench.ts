// Layer engine benchmark (issues 4 and 15). In one run, on a ~200 MiB gzip layer of real files pushed to
// the lab registry a:
//   (a) curl | gzip -dc > /dev/null                    the physical limit here
//   (b) skopeo copy → OCI dir, gzip -dc, veritysetup    what a user would script
//   (c) our layer engine with --verity (child process) one streaming pass
// and prints c/a and c/b. Then peak RSS of (c) on a 1 GiB layer, and 10 images sharing a base
// layer (base fetched once, CPU use across both cores). Corpora are cached in $BENCH_DIR
// (default /tmp/contrast-bench-layers) so re-runs skip the slow gzip step.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fixtureImage, layerMediaTypes, type FixtureLayer } from '../test/fixtures/oci/image.js';
import { pushWithSkopeo } from '../test/fixtures/oci/push.js';

const repo = join(import.meta.dirname, '..');
const dir = process.env['BENCH_DIR'] ?? '/tmp/contrast-bench-layers';
const registry = (process.env['LAB_REGISTRY_A'] ?? 'http://127.0.0.1:5000').replace(/^https?:\/\//, '');

function sh(cmd: string): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Wall time of a shell command, best of `runs`. */
function timeShell(cmd: string, runs = 2): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    sh(cmd);
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

interface Layer {
  tar: string;
  gz: string;
}

/** A tar of real files from /usr up to `mib` MiB, gzip -6. */
function realLayer(name: string, mib: number, skip = 0): Layer {
  const tar = join(dir, `${name}.tar`);
  const gz = `${tar}.gz`;
  if (!existsSync(gz)) {
    sh(
      `find /usr/lib /usr/bin /usr/share -xdev -type f -size -16M -printf '%s %p\\n' 2>/dev/null | sort -k2 | ` +
        `awk -v max=${mib * 1048576} -v skip=${skip * 1048576} '{s+=$1; if (s>skip && s-skip<max) print $2}' > ${tar}.list && ` +
        `tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf ${tar} -T ${tar}.list 2>/dev/null; ` +
        `gzip -6 -n -c ${tar} > ${gz}.tmp && mv ${gz}.tmp ${gz}`,
    );
  }
  return { tar, gz };
}

/** A 1 GiB tar (files of zeros and text) compressed with gzip -1, for the memory measurement. */
function gigLayer(): Layer {
  const tar = join(dir, 'gig.tar');
  const gz = `${tar}.gz`;
  if (!existsSync(gz)) {
    const src = join(dir, 'gigsrc');
    mkdirSync(src, { recursive: true });
    sh(`cd ${src} && for i in $(seq 1 16); do head -c 64M /dev/zero > z$i; done`);
    sh(
      `tar -C ${src} --sort=name -cf ${tar} . && gzip -1 -n -c ${tar} > ${gz}.tmp && mv ${gz}.tmp ${gz} && rm -rf ${src}`,
    );
  }
  return { tar, gz };
}

/** Pushes an image of `layers` (gzip files, hard-linked into the OCI layout) with skopeo. */
async function push(target: string, layers: Layer[]): Promise<void> {
  const files = new Map<string, string>();
  const fixtureLayers: FixtureLayer[] = [];
  for (const l of layers) {
    const digest = `sha256:${await sha256File(l.gz)}`;
    files.set(digest, l.gz);
    fixtureLayers.push({
      descriptor: { mediaType: layerMediaTypes.gzip, digest, size: statSync(l.gz).size },
      diffId: `sha256:${await sha256File(l.tar)}`,
    });
  }
  pushWithSkopeo(`${registry}/${target}`, fixtureImage(fixtureLayers), files);
}

interface OursResult {
  wallMs: number;
  analyzeMs: number;
  mainCpuMs: number;
  otherCpuMs: number;
  maxRssMiB: number;
  cpuMs: number;
  fetched: number;
  roots: string[];
}

/**
 * The per-thread breakdown runs the library from the sources through tsx (the bundle exports only the
 * CLI); the whole-process figures run the bundled CLI (`node bin/contrast.js`, what users run) when
 * dist/ is up to date.
 */
function engine(): { argv: string[]; registry: string; image: string; label: string } {
  return {
    argv: ['--import', 'tsx'],
    registry: join(repo, 'src/registry/index.ts'),
    image: join(repo, 'src/image/index.ts'),
    label: 'src/ through tsx',
  };
}

function cliFresh(): boolean {
  const built = join(repo, 'dist/cli/layer-worker.js');
  return existsSync(built) && statSync(built).mtimeMs >= statSync(join(repo, 'src/image/layer.ts')).mtimeMs;
}

interface CliResult {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
  roots: string[];
}

/** `contrast image analyze --verity` as a user runs it: wall time, CPU and peak RSS of the process. */
function cli(refs: string[], concurrency?: number): CliResult {
  const argv = cliFresh()
    ? [join(repo, 'bin/contrast.js')]
    : ['--import', 'tsx', join(repo, 'src/cli/main.ts')];
  const t = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%U %S %M',
      process.execPath,
      ...argv,
      'image',
      'analyze',
      '--verity',
      '--no-cache',
      '--no-progress',
      '--json',
      '--insecure-registry',
      registry,
      ...(concurrency ? ['--concurrency', String(concurrency)] : []),
      ...refs,
    ],
    { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const wallMs = performance.now() - t;
  if (r.status !== 0) throw new Error(`contrast image analyze failed (${r.status}):\n${r.stderr}`);
  const [user, sys, rss] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const roots = [...r.stdout.matchAll(/"verityRoot":\s*"([0-9a-f]+)"/g)].map((m) => m[1]!);
  return { wallMs, cpuMs: (user! + sys!) * 1000, maxRssMiB: rss! / 1024, roots };
}

function ours(
  refs: string[],
  verity: boolean,
  concurrency?: number,
  worker = true,
  inflateOn: 'main' | 'worker' = 'worker',
): Promise<OursResult> {
  const e = engine();
  const code = `
    import { RegistryClient } from ${JSON.stringify(e.registry)};
    import { ImageAnalyzer } from ${JSON.stringify(e.image)};
    const client = new RegistryClient({ insecureRegistries: ['http://${registry}'] });
    const a = new ImageAnalyzer({ client, cachePath: null, verity: ${verity}, progress: 'off', worker: ${worker}, inflateOn: '${inflateOn}'${concurrency ? `, concurrency: ${concurrency}` : ''} });
    // CPU per thread (Linux): main thread vs the rest (zlib's pool); load-independent, unlike wall time.
    const { readdirSync, readFileSync } = await import('node:fs');
    const threads = () => {
      let main = 0, other = 0;
      for (const t of readdirSync('/proc/self/task')) {
        const f = readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ');
        const ms = (Number(f[11]) + Number(f[12])) * 10;
        if (t === String(process.pid)) main += ms; else other += ms;
      }
      return { main, other };
    };
    const th0 = threads();
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    const m = await a.analyzeMany(${JSON.stringify(refs)});
    const analyzeMs = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    const th1 = threads();
    await client.close();
    const roots = [...m.values()].flatMap((i) => i.layerAnalysis.map((l) => l.verityRoot ?? ''));
    console.log(JSON.stringify({ analyzeMs, mainCpuMs: th1.main - th0.main, otherCpuMs: th1.other - th0.other, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024, fetched: a.fetchedLayers, roots }));
  `;
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, [...e.argv, '--input-type=module', '-e', code], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (c) => {
      if (c !== 0) return reject(new Error(`engine child exited ${c}`));
      resolve({
        wallMs: performance.now() - t,
        ...(JSON.parse(out.trim().split('\n').pop()!) as Omit<OursResult, 'wallMs'>),
      });
    });
  });
}

const f2 = (n: number): string => n.toFixed(2);
/** "(goal ≤ x: met)" — every figure is printed with its goal from issue 15. */
const goal = (v: number, bound: number, kind: 'max' | 'min' = 'max'): string =>
  `(goal ${kind === 'max' ? '≤' : '≥'} ${bound}: ${(kind === 'max' ? v <= bound : v >= bound) ? 'met' : 'MISSED'})`;

export async function run(): Promise<void> {
  try {
    sh(`curl -sf http://${registry}/v2/ >/dev/null`);
  } catch {
    console.log(`layers: registry ${registry} not reachable (start the lab: test/lab/lab.sh up); skipped`);
    return;
  }
  mkdirSync(dir, { recursive: true });
  console.log(`corpora in ${dir} (built once); engine from ${engine().label}`);

  // --- 1. ~200 MiB gzip layer: (a) vs (b) vs (c)
  const big = realLayer('real', 560);
  const gzMiB = statSync(big.gz).size / 1048576;
  const tarMiB = statSync(big.tar).size / 1048576;
  await push('bench/layers:big', [big]);
  const digest = `sha256:${await sha256File(big.gz)}`;
  const url = `http://${registry}/v2/bench/layers/blobs/${digest}`;
  console.log(`layer: ${f2(gzMiB)} MiB gzip, ${f2(tarMiB)} MiB tar of real files from /usr`);
  const a = timeShell(`curl -sf ${url} | gzip -dc > /dev/null`);
  const work = join(dir, 'b');
  const b = timeShell(
    `rm -rf ${work} && mkdir -p ${work} && skopeo copy -q --src-tls-verify=false docker://${registry}/bench/layers:big oci:${work}/oci:t && ` +
      `gzip -dc ${work}/oci/blobs/sha256/${digest.slice(7)} > ${work}/layer.tar && ` +
      `veritysetup format --no-superblock --salt=${'0'.repeat(64)} ${work}/layer.tar ${work}/hash >/dev/null`,
  );
  rmSync(work, { recursive: true, force: true });
  let c: CliResult | undefined;
  for (let i = 0; i < 2; i++) {
    const r = cli([`${registry}/bench/layers:big`]);
    if (!c || r.wallMs < c.wallMs) c = r;
  }
  // A/B in the same run: the tar analysis on the layer workers vs in the main thread (before issue 15's
  // workers), alternated so both see the same machine load.
  let d: OursResult | undefined;
  let inThread: OursResult | undefined;
  let mainInflate: OursResult | undefined;
  for (let i = 0; i < 2; i++) {
    const w = await ours([`${registry}/bench/layers:big`], true);
    const m = await ours([`${registry}/bench/layers:big`], true, undefined, false);
    const mi = await ours([`${registry}/bench/layers:big`], true, undefined, true, 'main');
    if (!d || w.analyzeMs < d.analyzeMs) d = w;
    if (!inThread || m.analyzeMs < inThread.analyzeMs) inThread = m;
    if (!mainInflate || mi.analyzeMs < mainInflate.analyzeMs) mainInflate = mi;
  }
  if (
    d!.roots[0] !== c!.roots[0] ||
    inThread!.roots[0] !== c!.roots[0] ||
    mainInflate!.roots[0] !== c!.roots[0]
  )
    throw new Error(`dm-verity roots differ: CLI ${c!.roots[0]}, library ${d!.roots[0]}`);
  const cs = c!.wallMs / 1000;
  const ci = d!.analyzeMs / 1000;
  console.log(`(a) curl | gzip -dc                         ${f2(a)} s  (${f2(tarMiB / a)} MiB/s out)`);
  console.log(`(b) skopeo copy + gzip -dc + veritysetup    ${f2(b)} s`);
  console.log(
    `(c) contrast image analyze --verity, whole process (${cliFresh() ? 'dist/ bundle' : 'tsx, dist/ stale'})  ${f2(cs)} s  (peak RSS ${f2(c!.maxRssMiB)} MiB; ` +
      `analysis alone in a library call ${f2(ci)} s)`,
  );
  console.log(`ratio c/a = ${f2(cs / a)} (analysis alone ${f2(ci / a)}) ${goal(cs / a, 0.75)}`);
  console.log(`ratio c/b = ${f2(cs / b)} (analysis alone ${f2(ci / b)}) ${goal(cs / b, 0.4)}`);
  console.log(
    `  CPU of (c): ${f2(c!.cpuMs / 1000)} s in ${f2(cs)} s = ${f2(c!.cpuMs / c!.wallMs)} cores busy; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
  );
  const byThread = (r: OursResult): string =>
    `${f2(r.analyzeMs / 1000)} s, ${f2(r.cpuMs / r.analyzeMs)} cores busy; CPU main thread ${f2(r.mainCpuMs / 1000)} s, other threads ${f2(r.otherCpuMs / 1000)} s`;
  console.log(
    `  library call, whole pass on the layer workers: ${byThread(d!)} (main: network; others: blob digest, inflate dispatch and tar walk + tarfs on one worker, inflate on zlib's pool, diff_id + dm-verity on a second)`,
  );
  console.log(
    `  library call, blob digest + inflate dispatch in the main thread, tar analysis on the workers (before the third 2026-12-06 session): ${byThread(mainInflate!)}; whole pass on the workers ÷ this, wall time ${f2(d!.analyzeMs / mainInflate!.analyzeMs)}, CPU ${f2(d!.cpuMs / mainInflate!.cpuMs)}`,
  );
  console.log(
    `  library call, tar analysis in the main thread:  ${byThread(inThread!)}; worker ÷ main-thread wall time ${f2(d!.analyzeMs / inThread!.analyzeMs)}`,
  );

  // --- 2. peak RSS on a 1 GiB layer
  const gig = gigLayer();
  await push('bench/layers:gig', [gig]);
  const g = cli([`${registry}/bench/layers:gig`]);
  console.log(
    `1 GiB layer (${f2(statSync(gig.gz).size / 1048576)} MiB gzip), whole CLI process: ${f2(g.wallMs / 1000)} s, peak RSS ${f2(g.maxRssMiB)} MiB ${goal(g.maxRssMiB, 200)}`,
  );

  // --- 3. ten images sharing a base layer
  const base = realLayer('base', 120, 600);
  const tops: Layer[] = [];
  for (let i = 0; i < 10; i++) tops.push(realLayer(`top${i}`, 24, 800 + i * 30));
  const refs: string[] = [];
  for (let i = 0; i < 10; i++) {
    await push(`bench/shared:img${i}`, [base, tops[i]!]);
    refs.push(`${registry}/bench/shared:img${i}`);
  }
  const lib = await ours(refs, true);
  console.log(
    `10 images sharing a base: ${lib.fetched} layer blobs fetched (11 distinct of 20); library call ${f2(lib.analyzeMs / 1000)} s, ` +
      `CPU ${f2(lib.cpuMs / 1000)} s = ${f2(lib.cpuMs / lib.analyzeMs)} cores busy on average ${goal(lib.cpuMs / lib.analyzeMs, 1.6, 'min')}, peak RSS ${f2(lib.maxRssMiB)} MiB`,
  );
  const s1 = cli(refs);
  console.log(
    `  whole CLI process: ${f2(s1.wallMs / 1000)} s, ${f2(s1.cpuMs / s1.wallMs)} cores busy (incl. start-up), peak RSS ${f2(s1.maxRssMiB)} MiB`,
  );
  const c1 = cli(refs, 1);
  console.log(`  same with --concurrency 1: ${f2(c1.wallMs / 1000)} s (${f2(c1.cpuMs / c1.wallMs)} cores)`);
}
