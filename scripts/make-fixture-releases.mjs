// Writes the FIXTURE Contrast releases used by tests and the demo. They are shaped like a real release
// (runtime-<platform>.yml and coordinator.yml as the release workflow's `resourcegen` writes them,
// image-replacements.txt in release.yml's format, reference-values.json in the CLI's embedded format,
// and for the 2025 line the CLI's SNP ID-block table) but every hash, digest and measurement is made
// up: they are not Contrast releases and nothing generated with them runs on a real cluster.
//   node scripts/make-fixture-releases.mjs   (rewrites test/fixtures/releases/*)
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const fake = (label, bytes) => {
  let out = '';
  for (let i = 0; out.length < bytes * 2; i++)
    out += createHash('sha256').update(`${label}/${i}`).digest('hex');
  return out.slice(0, bytes * 2);
};
const digest = (label) => `sha256:${fake(label, 32)}`;

const LINES = {
  2026: { version: 'v0.0.0-fixture.2026', hash: 'f26a0001' },
  2025: { version: 'v0.0.0-fixture.2025', hash: 'f25a0001' },
};
const PLATFORMS = ['metal-qemu-snp', 'metal-qemu-snp-gpu', 'metal-qemu-tdx', 'metal-qemu-tdx-gpu'];
const IMAGES = [
  'coordinator',
  'initializer',
  'service-mesh-proxy',
  'debugshell',
  'node-installer-kata',
  'node-installer-kata-gpu',
];

function runtimeYaml(platform, handler, version) {
  const installer = platform.endsWith('-gpu') ? 'node-installer-kata-gpu' : 'node-installer-kata';
  return `# FIXTURE release asset (made up): shaped like runtime-${platform}.yml of a Contrast release.
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: ${handler}
handler: ${handler}
overhead:
  podFixed:
    memory: 1152Mi
scheduling:
  nodeSelector:
    contrast.edgeless.systems/runtime-handler: ${handler}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${handler}-nodeinstaller
  namespace: kube-system
  labels:
    app.kubernetes.io/name: ${handler}-nodeinstaller
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: ${handler}-nodeinstaller
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${handler}-nodeinstaller
    spec:
      hostPID: true
      initContainers:
        - name: installer
          image: ghcr.io/edgelesssys/contrast/${installer}:${version}@${digest(`${version}/${installer}`)}
          args: ["${platform}"]
          securityContext:
            privileged: true
      containers:
        - name: pause
          image: registry.k8s.io/pause:3.6@${digest('pause')}
`;
}

function coordinatorYaml(version) {
  return `# FIXTURE release asset (made up): shaped like coordinator.yml of a Contrast release.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: coordinator
spec:
  replicas: 1
  serviceName: coordinator
  selector:
    matchLabels:
      app.kubernetes.io/name: coordinator
  template:
    metadata:
      labels:
        app.kubernetes.io/name: coordinator
      annotations:
        contrast.edgeless.systems/pod-role: coordinator
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: coordinator
          image: ghcr.io/edgelesssys/contrast/coordinator:${version}@${digest(`${version}/coordinator`)}
`;
}

// reference-values.json as a release build writes it: packages/by-name/contrast/reference-values/
// package.nix (edgelesssys/contrast 0357b18604c359d8a289d1cb7d7639b42ea5192b) turns Nix attributes
// into JSON with builtins.toJSON, so keys are camelCase, sorted, and only what the build knows is there:
// snp {guestPolicy (snpGuestPolicyQEMU.json), platformInfo {SMTEnabled}, productName,
// trustedMeasurement}, tdx {memoryIntegrity, mrTd, rtmrs, xfam}. The Go CLI decodes it into its structs
// (field names matched case-insensitively). FIXTURE-only extras, so that tests and the demo get a
// manifest without "Please fill in": minimumTCB (SNP), mrSeam and minTCBEvaluationDataNumber (TDX),
// values the hardware owner supplies on a real cluster.
function snpValues(line, platform) {
  return ['Milan', 'Genoa'].map((product) => ({
    guestPolicy: { ABIMajor: 0, ABIMinor: 0, Debug: false, MigrateMA: false, SMT: true, SingleSocket: false },
    minimumTCB: { BootloaderVersion: 7, MicrocodeVersion: 72, SNPVersion: 22, TEEVersion: 0 },
    platformInfo: { SMTEnabled: true },
    productName: product,
    // 2026: the 1-vCPU launch digest (the seed per-vCPU digests are derived from). The embedded
    // reference values carry no APEIP: the release ships it separately as ap-eip.hex.
    trustedMeasurement: fake(`${line}/${platform}/${product}/measurement`, 48),
  }));
}

function tdxValues(line, platform) {
  return [
    {
      memoryIntegrity: false,
      minTCBEvaluationDataNumber: 17,
      mrSeam: fake(`${line}/${platform}/mrseam`, 48),
      mrTd: fake(`${line}/${platform}/mrtd`, 48),
      rtmrs: [0, 1, 2, 3].map((i) => fake(`${line}/${platform}/rtmr${i}`, 48)),
      xfam: 'e702060000000000',
    },
  ];
}

for (const [line, { version, hash }] of Object.entries(LINES)) {
  const dir = join('test/fixtures/releases', `fixture-${line}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rv = {};
  for (const p of PLATFORMS) {
    const handler = `contrast-cc-${p}-${hash}`;
    writeFileSync(join(dir, `runtime-${p}.yml`), runtimeYaml(p, handler, version));
    rv[handler] = p.includes('snp') ? { snp: snpValues(line, p) } : { tdx: tdxValues(line, p) };
  }
  writeFileSync(join(dir, 'coordinator.yml'), coordinatorYaml(version));
  writeFileSync(
    join(dir, 'image-replacements.txt'),
    IMAGES.map(
      (i) =>
        `ghcr.io/edgelesssys/contrast/${i}:latest=ghcr.io/edgelesssys/contrast/${i}:${version}@${digest(`${version}/${i}`)}`,
    ).join('\n') + '\n',
  );
  // builtins.toFile writes the JSON on one line, without a trailing newline.
  writeFileSync(join(dir, 'reference-values.json'), JSON.stringify(rv));
  if (line === '2025') {
    const table = {};
    for (const p of ['metal-qemu-snp', 'metal-qemu-snp-gpu']) {
      table[p] = {};
      for (const product of ['Milan', 'Genoa']) {
        table[p][product] = {};
        for (let cpus = 1; cpus <= 8; cpus++)
          table[p][product][String(cpus)] = {
            idBlock: Buffer.from(fake(`${p}/${product}/${cpus}/idblock`, 96), 'hex').toString('base64'),
            idAuth: Buffer.from(fake(`${p}/${product}/${cpus}/idauth`, 64), 'hex').toString('base64'),
          };
      }
    }
    writeFileSync(join(dir, 'snp-id-blocks.json'), JSON.stringify(table, null, 2) + '\n');
  } else {
    // cli/cmd/assets/ap-eip.hex of a 2026 release build: `sev-snp-measure ap-eip` output, 8 hex digits,
    // trailing newline truncated. 0x0080b004 is the AP reset EIP of sev-snp-measure's OVMF test fixture.
    writeFileSync(join(dir, 'ap-eip.hex'), '0080b004');
  }
  writeFileSync(
    join(dir, 'README.md'),
    `# FIXTURE Contrast release, ${line} line (${version})\n\nMade up by \`scripts/make-fixture-releases.mjs\`: shaped like a real release's files, but every\nhash, digest and measurement is invented. Not a Contrast release; nothing generated with it runs on a\nreal cluster. Tests and the demo use it; real use needs the files of a real release.\n`,
  );
}
