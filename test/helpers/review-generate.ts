// Generates annotated YAML in memory with the policy package and hand-built image fixtures, so the
// review tests work on real generated policies without a registry.
import { findWorkloads, parseKubeFile, serializeKubeFile } from '../../src/kube/index.js';
import { generatePolicies, loadPolicySettings, readRules, type Flavour } from '../../src/policy/index.js';
import { GUEST_PAUSE, RECORDED_BUSYBOX, RECORDED_PAUSE, fixtureImage } from './policy/fixtures.js';
import type { AnalyzedImage } from '../../src/image/types.js';

export const WEB_IMAGE = 'registry.example.com/shop/web:v1';
export const SIDECAR_IMAGE = 'registry.example.com/shop/sidecar:v1';

/** The web image at another manifest digest (a rebuilt tag). */
export function webImage(rebuilt = false): AnalyzedImage {
  const img = { ...RECORDED_BUSYBOX };
  img.digest = rebuilt
    ? 'sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
    : 'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  if (rebuilt)
    img.layerAnalysis = img.layerAnalysis.map((l, i) => (i === 0 ? { ...l, verityRoot: 'c'.repeat(64) } : l));
  return img;
}

const SIDECAR = fixtureImage({
  ref: SIDECAR_IMAGE,
  layers: [{ verityRoot: '4'.repeat(64) }],
  config: { Entrypoint: ['/proxy'], Env: ['PATH=/bin'] },
});

/** The YAML with a policy for every confidential workload, as `policy generate` writes it. */
export async function generated(
  text: string,
  options: { flavour?: Flavour; rebuilt?: boolean; path?: string } = {},
): Promise<string> {
  const flavour = options.flavour ?? 'guest-pull';
  const f = parseKubeFile(options.path ?? 'app.yaml', text);
  const settings = await loadPolicySettings({ flavour });
  const images = new Map<string, AnalyzedImage>();
  for (const [ref, img] of [
    [settings.cluster_config.pause_container_image, flavour === 'host-pull' ? RECORDED_PAUSE : GUEST_PAUSE],
    [WEB_IMAGE, webImage(options.rebuilt)],
    [SIDECAR_IMAGE, SIDECAR],
  ] as const) {
    // Guest-pull generation pins unpinned images in the YAML; a second run sees the pinned name.
    images.set(ref, img);
    images.set(`${ref}@${img.digest}`, img);
  }
  await generatePolicies([f], findWorkloads([f]), images, settings, {
    flavour,
    rules: await readRules({}),
  });
  return serializeKubeFile(f);
}

export interface WebOptions {
  env?: Array<[string, string]>;
  args?: string[];
  volume?: boolean;
  sidecar?: boolean;
  privileged?: boolean;
}

/** A Deployment `web` in namespace `shop` with an app container and (by default) a sidecar. */
export function webYaml(o: WebOptions = {}): string {
  const env = o.env ?? [['MODE', 'production']];
  const lines = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    '  namespace: shop',
    'spec:',
    '  template:',
    '    spec:',
    '      runtimeClassName: contrast-cc-metal-qemu-snp',
    '      containers:',
    '        - name: app',
    `          image: ${WEB_IMAGE}`,
    `          args: ${JSON.stringify(o.args ?? ['serve', '--port', '8080'])}`,
    '          env:',
    ...env.map(([k, v]) => `            - {name: ${k}, value: ${JSON.stringify(v)}}`),
    ...(o.privileged ? ['          securityContext: {privileged: true}'] : []),
    ...(o.volume ? ['          volumeMounts: [{name: cache, mountPath: /cache}]'] : []),
  ];
  if (o.sidecar !== false) lines.push('        - name: proxy', `          image: ${SIDECAR_IMAGE}`);
  if (o.volume) lines.push('      volumes: [{name: cache, emptyDir: {}}]');
  return lines.join('\n') + '\n';
}
