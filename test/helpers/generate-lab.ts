// Lab set-up shared by the `contrast generate` tests: the images the examples, Contrast and the
// settings name, copied into registry (a) under one namespace, and a registries.conf that mirrors
// their real registries there.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { fixtureRelease } from './shared.js';

/** Copies seeded lab images to `<lab a>/<ns>/…` under the names the examples and Contrast use. */
export function pushExampleImages(l: Lab, ns: string): void {
  const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: join(l.dir, 'config/registries.conf') };
  const copy = (src: string, dst: string, all = false): void => {
    execFileSync(
      'skopeo',
      [
        '--policy',
        join(l.dir, 'config/policy.json'),
        'copy',
        '-q',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        ...(all ? ['--all'] : []),
        `docker://${l.a}/${src}`,
        `docker://${l.a}/${ns}/${dst}`,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  };
  copy('test/app:v1', 'demo/web:v1');
  copy('test/app:v1-docker', 'demo/api:v1');
  copy('test/app:v1', 'edgelesssys/contrast/coordinator:latest');
  copy('test/multi:v1', 'edgelesssys/contrast/initializer:latest', true);
  copy('test/app:v1', 'edgelesssys/contrast/service-mesh-proxy:latest');
  copy('test/app:v1', 'edgelesssys/contrast/debugshell:latest');
  copy('test/app:v1', 'edgelesssys/kubernetes/pause:3.6');
  copy('test/app:v1', 'mcr/oss/kubernetes/pause:3.6');
}

/**
 * Writes a registries.conf at `path` that mirrors registry.example.com, ghcr.io/edgelesssys and
 * mcr.microsoft.com to `<mirrorHost>/<ns>` (insecure), where pushExampleImages put them.
 */
export function writeExampleRegistriesConf(path: string, mirrorHost: string, ns: string): string {
  const entry = (prefix: string, location: string) =>
    `[[registry]]\nprefix = "${prefix}"\nlocation = "${prefix}"\n[[registry.mirror]]\nlocation = "${location}"\ninsecure = true\n`;
  writeFileSync(
    path,
    [
      entry('registry.example.com', `${mirrorHost}/${ns}`),
      entry('ghcr.io/edgelesssys', `${mirrorHost}/${ns}/edgelesssys`),
      entry('mcr.microsoft.com', `${mirrorHost}/${ns}/mcr`),
    ].join('\n'),
  );
  return path;
}

/**
 * A copy of the FIXTURE release of `line` (test/fixtures/releases) whose image pins name the lab's
 * copies of Contrast's images (pushExampleImages), so generate can resolve them through the mirror.
 */
export function writeLabRelease(l: Lab, ns: string, line: '2025' | '2026', dir: string): string {
  const src = fixtureRelease(line);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
  const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: join(l.dir, 'config/registries.conf') };
  const digestOf = (name: string): string => {
    const raw = execFileSync(
      'skopeo',
      ['inspect', '--tls-verify=false', '--raw', `docker://${l.a}/${ns}/edgelesssys/contrast/${name}:latest`],
      { env },
    );
    return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  };
  const path = join(dir, 'image-replacements.txt');
  const text = readFileSync(path, 'utf8').replace(
    /^(ghcr\.io\/edgelesssys\/contrast\/(coordinator|initializer|service-mesh-proxy|debugshell)):latest=(\S+?)@sha256:[0-9a-f]{64}$/gm,
    (_m, image: string, name: string, tagged: string) => `${image}:latest=${tagged}@${digestOf(name)}`,
  );
  writeFileSync(path, text);
  return dir;
}

/**
 * Adds AKS-CLH-SNP to a fixture release directory, as the releases of the lines that still shipped it
 * did (runtime-aks-clh-snp.yml; SNP values with ABIMinor 31; ID blocks), so host-pull `generate` can
 * be tested. Current lines (2025, 2026) have no AKS runtime and generate refuses the platform.
 */
export function addAksToRelease(dir: string): void {
  const hash = /contrast-cc-metal-qemu-snp-([0-9a-f]+)/.exec(
    readFileSync(join(dir, 'runtime-metal-qemu-snp.yml'), 'utf8'),
  )![1]!;
  writeFileSync(
    join(dir, 'runtime-aks-clh-snp.yml'),
    readFileSync(join(dir, 'runtime-metal-qemu-snp.yml'), 'utf8').replaceAll('metal-qemu-snp', 'aks-clh-snp'),
  );
  const rv = JSON.parse(readFileSync(join(dir, 'reference-values.json'), 'utf8')) as Record<
    string,
    { snp: Array<{ guestPolicy: Record<string, unknown> }> }
  >;
  const snp = structuredClone(rv[`contrast-cc-metal-qemu-snp-${hash}`]!);
  for (const v of snp.snp) v.guestPolicy['ABIMinor'] = 31;
  rv[`contrast-cc-aks-clh-snp-${hash}`] = snp;
  writeFileSync(join(dir, 'reference-values.json'), JSON.stringify(rv, null, 2));
  const idPath = join(dir, 'snp-id-blocks.json');
  const ids = JSON.parse(readFileSync(idPath, 'utf8')) as Record<string, unknown>;
  ids['aks-clh-snp'] = ids['metal-qemu-snp'];
  writeFileSync(idPath, JSON.stringify(ids, null, 2));
}

/**
 * Everything a `contrast generate` test needs from the lab in one call: the example images under
 * `<lab a>/<ns>`, the FIXTURE release of `line` pinned to them, and a registries.conf mirroring the
 * real registries there (both written to fresh temp directories).
 */
export function exampleLab(
  l: Lab,
  ns: string,
  line: '2025' | '2026' = '2025',
): { release: string; conf: string } {
  pushExampleImages(l, ns);
  const dir = mkdtempSync(join(tmpdir(), `${ns}-lab-`));
  return {
    release: writeLabRelease(l, ns, line, join(dir, 'release')),
    conf: writeExampleRegistriesConf(join(dir, 'registries.conf'), l.a, ns),
  };
}
