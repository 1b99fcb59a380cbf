// Resolving 20 references on the registry lab (manifest → platform manifest → config, digest-verified):
// contrast cold (fresh client: pings, token fetches, TLS handshakes) and warm (same client again),
// side by side with `skopeo inspect --no-tags` run on the same references in the same run.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../src/registry/index.js';
import { getLogLevel, setLogLevel } from '../src/internal/log.js';

const root = join(import.meta.dirname, '..');

function labEnv(): Record<string, string> | undefined {
  const file = join(process.env['LAB_STATE'] ?? join(root, 'test/lab/state'), 'lab.env');
  if (!existsSync(file)) return undefined;
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export (\w+)='(.*)'$/.exec(line);
    if (m) env[m[1] as string] = m[2] as string;
  }
  return env;
}

const seed = {
  appV1: 'sha256:42c3221d458c75fef87db27dd0a4e4bb6b5be39b53742b3eec59e30f2474c472',
  appV1Docker: 'sha256:b7c321510240112082e9293f665bbefb75a724db347cc34d8975c3171bf65c07',
  multiV1: 'sha256:47e2ee6f1c9c2bde20f57ab6ff04a6172c7e739b0c578d7d052fe7d8f272bfd1',
  multiV1Docker: 'sha256:e981cc5b6a4c18b569e023e28420e91d17783bcbfbe06f0e9ef9b4464089385a',
};

function references(a: string, b: string, c: string): string[] {
  const refs: string[] = [];
  for (const h of [a, b, c]) {
    refs.push(
      `${h}/test/app:v1`,
      `${h}/test/app:v1-docker`,
      `${h}/test/multi:v1`,
      `${h}/test/multi:v1-docker`,
      `${h}/test/app:v1-arm64`,
    );
  }
  refs.push(
    `${c}/public/hello:v1`,
    `${a}/test/multi@${seed.multiV1}`,
    `${b}/test/app@${seed.appV1}`,
    `${c}/test/multi@${seed.multiV1Docker}`,
    `${c}/test/app@${seed.appV1Docker}`,
  );
  return refs;
}

interface Figures {
  ms: number;
  requests: number;
}

function skopeoInspect(ref: string, insecure: boolean, env: Record<string, string>): Promise<number> {
  const args = [
    '--debug',
    'inspect',
    '--no-tags',
    '--authfile',
    env['LAB_AUTHFILE'] as string,
    '--cert-dir',
    env['LAB_CERT_DIR'] as string,
  ];
  if (insecure) args.push('--tls-verify=false');
  args.push(`docker://${ref}`);
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', args, {
      env: {
        ...process.env,
        CONTAINERS_REGISTRIES_CONF: join(env['LAB_DIR'] as string, 'config/registries.conf'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(
          new Error(
            `skopeo inspect ${ref} failed: ${err
              .split('\n')
              .filter((l) => !l.includes('level=debug'))
              .join(' ')}`,
          ),
        );
      resolve((err.match(/msg="(GET|HEAD|POST) https?:/g) ?? []).length);
    });
  });
}

async function skopeoRun(refs: string[], a: string, env: Record<string, string>): Promise<Figures> {
  const started = performance.now();
  let requests = 0;
  for (const ref of refs) requests += await skopeoInspect(ref, ref.startsWith(`${a}/`), env);
  return { ms: performance.now() - started, requests };
}

function fmt(label: string, f: Figures, n: number): string {
  return `${label.padEnd(34)} ${f.ms.toFixed(0).padStart(7)} ms  ${(f.ms / n).toFixed(1).padStart(7)} ms/image  ${(f.requests / n).toFixed(2).padStart(6)} requests/image`;
}

const blobRepo = 'contrast-bench/blob';
const blobSize = 64 * 1024 * 1024;

/** 64 MiB of incompressible, reproducible bytes, pushed to registry a once (through our transport). */
async function ensureBlob(a: string): Promise<string> {
  const key = createHash('sha256').update('contrast-registry-bench').digest();
  const data = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16)).update(
    Buffer.alloc(blobSize),
  );
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const client = new RegistryClient({
    insecureRegistries: [a],
    credentials: { env: {} },
    registriesConfig: { path: undefined, registries: [] },
  });
  try {
    const t = client.transport;
    const base = { registry: a, repository: blobRepo, actions: ['pull', 'push'] as const };
    const head = await t.request({
      ...base,
      method: 'HEAD',
      path: `/v2/${blobRepo}/blobs/${digest}`,
      expect: [200, 404],
      what: 'bench blob',
    });
    await head.body.dump();
    if (head.status === 200) return digest;
    const start = await t.request({
      ...base,
      method: 'POST',
      path: `/v2/${blobRepo}/blobs/uploads/`,
      expect: [202],
      what: 'bench blob upload',
    });
    await start.body.dump();
    const location = new URL(String(start.headers['location']), `http://${a}`);
    location.searchParams.set('digest', digest);
    const put = await t.request({
      ...base,
      method: 'PUT',
      path: location.toString(),
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
      expect: [201],
      what: 'bench blob upload',
    });
    await put.body.dump();
    return digest;
  } finally {
    await client.close();
  }
}

function curlSha256(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', `curl -sf '${url}' | openssl dgst -sha256 >/dev/null`], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`curl exit ${code}`)),
    );
  });
}

async function blobThroughput(a: string): Promise<void> {
  const digest = await ensureBlob(a);
  const client = new RegistryClient({
    insecureRegistries: [a],
    credentials: { env: {} },
    registriesConfig: { path: undefined, registries: [] },
  });
  const ours: number[] = [];
  const curl: number[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      let n = 0;
      for await (const chunk of await client.openBlob(`${a}/${blobRepo}:x`, {
        mediaType: 'application/octet-stream',
        digest,
        size: blobSize,
      })) {
        n += (chunk as Buffer).length;
      }
      if (n !== blobSize) throw new Error(`short read ${n}`);
      ours.push(performance.now() - t0);
      curl.push(await curlSha256(`http://${a}/v2/${blobRepo}/blobs/${digest}`));
    }
  } finally {
    await client.close();
  }
  const mibs = (ms: number) => (blobSize / 1048576 / (ms / 1000)).toFixed(0);
  const o = Math.min(...ours);
  const c = Math.min(...curl);
  console.log(`64 MiB blob from registry a, digest-verified stream, best of 5 (interleaved):`);
  console.log(
    `  contrast openBlob               ${o.toFixed(0).padStart(6)} ms  ${mibs(o).padStart(5)} MiB/s`,
  );
  console.log(
    `  curl | openssl dgst -sha256     ${c.toFixed(0).padStart(6)} ms  ${mibs(c).padStart(5)} MiB/s   (ratio curl/contrast time ${(c / o).toFixed(2)}x)`,
  );
}

export async function run(): Promise<void> {
  const env = labEnv();
  // lab.env outlives the lab: also ask registry a (plain HTTP) whether it is up.
  const up =
    env?.['LAB_REGISTRY_A'] !== undefined &&
    (await fetch(new URL('/v2/', env['LAB_REGISTRY_A']), { signal: AbortSignal.timeout(2000) }).then(
      () => true,
      () => false,
    ));
  if (!env || !up) {
    console.log(
      'registry bench: skipped (no registry lab; run `bash test/lab/lab.sh up && bash test/lab/lab.sh seed`)',
    );
    return;
  }
  const host = (u: string) => new URL(u).host;
  const [a, b, c] = [
    host(env['LAB_REGISTRY_A'] as string),
    host(env['LAB_REGISTRY_B'] as string),
    host(env['LAB_REGISTRY_C'] as string),
  ];
  const refs = references(a, b, c);
  const n = refs.length;
  const options = () => ({
    caFile: env['LAB_CA_CERT'] as string,
    insecureRegistries: [a],
    credentials: { authFile: env['LAB_AUTHFILE'] as string, env: {} },
    registriesConfig: { path: undefined, registries: [] },
  });

  // The five v1-arm64 references warn (single arm64 image, amd64 wanted) on every pass; keep output readable.
  const level = getLogLevel();
  setLogLevel('error');
  const best = (xs: Figures[]) => xs.reduce((p, q) => (q.ms < p.ms ? q : p));
  const coldRuns: Figures[] = [];
  const warmRuns: Figures[] = [];
  const parallelRuns: Figures[] = [];
  const skopeoRuns: Figures[] = [];
  for (let round = 0; round < 2; round++) {
    const client = new RegistryClient(options());
    let t0 = performance.now();
    for (const ref of refs) await client.resolveImage(ref);
    coldRuns.push({ ms: performance.now() - t0, requests: client.requestCount() });
    const afterCold = client.requestCount();
    t0 = performance.now();
    for (const ref of refs) await client.resolveImage(ref);
    warmRuns.push({ ms: performance.now() - t0, requests: client.requestCount() - afterCold });
    await client.close();

    const par = new RegistryClient(options());
    t0 = performance.now();
    await Promise.all(refs.map((r) => par.resolveImage(r)));
    parallelRuns.push({ ms: performance.now() - t0, requests: par.requestCount() });
    await par.close();

    skopeoRuns.push(await skopeoRun(refs, a, env));
  }
  setLogLevel(level);
  const cold = best(coldRuns);
  const warm = best(warmRuns);
  const parallel = best(parallelRuns);
  const skopeo = best(skopeoRuns);
  console.log(
    `${n} references on lab registries a (HTTP), b (HTTPS+Basic), c (HTTPS+token); best of 2 rounds`,
  );
  console.log(fmt('contrast cold, sequential', cold, n));
  console.log(fmt('contrast warm, sequential', warm, n));
  console.log(fmt('contrast cold, all 20 concurrently', parallel, n));
  console.log(fmt('skopeo inspect --no-tags (per ref)', skopeo, n));
  console.log(
    `ratio skopeo / contrast cold:        ${(skopeo.ms / cold.ms).toFixed(1)}x time, ${(skopeo.requests / cold.requests).toFixed(2)}x requests`,
  );
  console.log(`ratio skopeo / contrast warm:        ${(skopeo.ms / warm.ms).toFixed(1)}x time`);
  await blobThroughput(a);
}
