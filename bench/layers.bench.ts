// Layer engine benchmark (issues 4 and 15). In one run, on a ~200 MiB gzip layer of real files pushed to
// the lab registry a:
//   (a) curl | gzip -dc > /dev/null                    the physical limit here
//   (b) skopeo copy → OCI dir, gzip -dc, veritysetup    what a user would script
//   (c) our layer engine with --verity (child process) one streaming pass
// and prints c/a and c/b. Then peak RSS of (c) on a 1 GiB layer, and 10 images sharing a base
// layer (base fetched once, CPU use across both cores). Corpora are cached in $BENCH_DIR
// (default /tmp/contrast-bench-layers) so re-runs skip the slow gzip step.
import { execFileSync, spawn } from 'node:child_process';
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

/** Runs our engine in a fresh process (like the CLI) and reports its own timing and peak RSS. */
/** The built library when dist/ is up to date (what the CLI runs), else the sources through tsx. */
function engine(): { argv: string[]; registry: string; image: string; label: string } {
  const built = join(repo, 'dist/image/layer.js');
  const fresh =
    existsSync(built) && statSync(built).mtimeMs >= statSync(join(repo, 'src/image/layer.ts')).mtimeMs;
  return fresh
    ? {
        argv: [],
        registry: join(repo, 'dist/registry/index.js'),
        image: join(repo, 'dist/image/index.js'),
        label: 'dist/',
      }
    : {
        argv: ['--import', 'tsx'],
        registry: join(repo, 'src/registry/index.ts'),
        image: join(repo, 'src/image/index.ts'),
        label: 'src/ through tsx (dist/ missing or stale)',
      };
}

function ours(refs: string[], verity: boolean, concurrency?: number): Promise<OursResult> {
  const e = engine();
  const code = `
    import { RegistryClient } from ${JSON.stringify(e.registry)};
    import { ImageAnalyzer } from ${JSON.stringify(e.image)};
    const client = new RegistryClient({ insecureRegistries: ['http://${registry}'] });
    const a = new ImageAnalyzer({ client, cachePath: null, verity: ${verity}, progress: 'off'${concurrency ? `, concurrency: ${concurrency}` : ''} });
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
  let c: OursResult | undefined;
  for (let i = 0; i < 2; i++) {
    const r = await ours([`${registry}/bench/layers:big`], true);
    if (!c || r.wallMs < c.wallMs) c = r;
  }
  const cs = c!.wallMs / 1000;
  const ci = c!.analyzeMs / 1000;
  console.log(`(a) curl | gzip -dc                         ${f2(a)} s  (${f2(tarMiB / a)} MiB/s out)`);
  console.log(`(b) skopeo copy + gzip -dc + veritysetup    ${f2(b)} s`);
  console.log(
    `(c) ours, --verity, whole process           ${f2(cs)} s  (analysis alone ${f2(ci)} s, peak RSS ${f2(c!.maxRssMiB)} MiB)`,
  );
  console.log(`ratio c/a = ${f2(cs / a)} (analysis alone ${f2(ci / a)}) ${goal(cs / a, 0.75)}`);
  console.log(`ratio c/b = ${f2(cs / b)} (analysis alone ${f2(ci / b)}) ${goal(cs / b, 0.4)}`);
  console.log(
    `  CPU of (c): ${f2(c!.cpuMs / 1000)} s in ${f2(ci)} s of analysis = ${f2(c!.cpuMs / c!.analyzeMs)} cores busy; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
  );
  console.log(
    `  by thread: main ${f2(c!.mainCpuMs / 1000)} s (hashes, tar, tarfs, verity), others ${f2(c!.otherCpuMs / 1000)} s (inflate); ` +
      `overlapped on two free cores the pass needs ≈ ${f2(Math.max(c!.mainCpuMs, c!.otherCpuMs) / 1000)} s, serialized ${f2((c!.mainCpuMs + c!.otherCpuMs) / 1000)} s`,
  );

  // --- 2. peak RSS on a 1 GiB layer
  const gig = gigLayer();
  await push('bench/layers:gig', [gig]);
  const g = await ours([`${registry}/bench/layers:gig`], true);
  console.log(
    `1 GiB layer (${f2(statSync(gig.gz).size / 1048576)} MiB gzip): ${f2(g.analyzeMs / 1000)} s, peak RSS ${f2(g.maxRssMiB)} MiB ${goal(g.maxRssMiB, 200)}`,
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
  const s = await ours(refs, true);
  console.log(
    `10 images sharing a base: ${f2(s.analyzeMs / 1000)} s, ${s.fetched} layer blobs fetched (11 distinct of 20), ` +
      `CPU ${f2(s.cpuMs / 1000)} s = ${f2(s.cpuMs / s.analyzeMs)} cores busy on average ${goal(s.cpuMs / s.analyzeMs, 1.6, 'min')}, peak RSS ${f2(s.maxRssMiB)} MiB`,
  );
  const s1 = await ours(refs, true, 1);
  console.log(
    `  same with --concurrency 1: ${f2(s1.analyzeMs / 1000)} s (${f2(s1.cpuMs / s1.analyzeMs)} cores)`,
  );
}
