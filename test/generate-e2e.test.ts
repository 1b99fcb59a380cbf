// `contrast generate` end to end on the registry lab, through the real CLI: the example deployment
// on every platform, idempotence, -o, an existing manifest, --disable-updates, owner keys, image
// replacements, and the failure cases that must leave every file byte-identical.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { parseDocument, parseAllDocuments } from 'yaml';
import { policyHash } from '../src/contrast/initdata.js';
import {
  newSeedshareOwnerKey,
  newWorkloadOwnerKey,
  workloadOwnerKeyDigest,
  workloadOwnerPubKeyHex,
} from '../src/contrast/keys.js';
import { coordinatorIssues, parseManifest } from '../src/contrast/manifest.js';
import { findWorkloads, parseKubeFile } from '../src/kube/index.js';
import { verifyAfter, verifyBefore } from '../src/contrast/verify.js';
import { PLATFORMS } from '../src/contrast/platforms.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../src/policy/initdata.js';
import { placeholderReferenceValues } from '../src/contrast/referencevalues.js';
import { extendLaunchDigest, PRODUCT_CPU_SIG } from '../src/snp/measure.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { fillGuideScript, installContrast } from './helpers/guide-script.js';
import { pushExampleImages, writeExampleRegistriesConf, writeLabRelease } from './helpers/generate-lab.js';
import { escapeRegExp, lab, requireLab, seed, type Lab } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';
import { snapshot } from './helpers/snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'generate-e2e-'));
after(() => rmSync(root, { recursive: true, force: true }));
const examples = join(repoRoot, 'examples');
const NS = 'gen-test';
let labInfo: Lab | undefined;

function registriesConf(l: Lab, mirrorHost = l.a): string {
  return writeExampleRegistriesConf(
    join(root, `registries-${mirrorHost.replace(/[^0-9a-z]/gi, '_')}.conf`),
    mirrorHost,
    NS,
  );
}

// RSA-4096 generation takes seconds: one seed-share key serves every workspace except the test
// that checks generation itself.
let seedKey = '';
/** The FIXTURE releases of both lines, pinned to the lab's copies of Contrast's images. */
const releases: Record<'2025' | '2026', string> = { '2025': '', '2026': '' };
before(async () => {
  labInfo = lab();
  if (labInfo) {
    pushExampleImages(labInfo, NS);
    for (const line of ['2025', '2026'] as const)
      releases[line] = writeLabRelease(labInfo, NS, line, join(root, `release-${line}`));
  }
  seedKey = await newSeedshareOwnerKey();
});

let counter = 0;
/** A fresh workspace with a copy of examples/ in deploy/. */
function workspace(options: { freshKeys?: boolean } = {}): { dir: string; deploy: string } {
  const dir = join(root, `ws${++counter}`);
  const deploy = join(dir, 'deploy');
  mkdirSync(deploy, { recursive: true });
  if (!options.freshKeys) writeFileSync(join(dir, 'seedshare-owner.pem'), seedKey, { mode: 0o600 });
  for (const f of readdirSync(examples))
    if (f.endsWith('.yml')) copyFileSync(join(examples, f), join(deploy, f));
  return { dir, deploy };
}

/** Runs generate of `deploy` for `platform` with the release directory `rel`. */
function generateWithRelease(dir: string, platform: string, rel: string, deploy: string): Promise<CliResult> {
  return generate(dir, ['--reference-values', platform, '--contrast-release', rel, deploy]);
}

/** Runs generate; the 2025-line fixture release unless args select one (or `release: null` omits it). */
function generate(
  dir: string,
  args: string[],
  conf?: string,
  options: { release?: '2025' | '2026' | null } = {},
): Promise<CliResult> {
  const line = options.release === undefined ? '2025' : options.release;
  return runCli(
    [
      '--workspace-dir',
      dir,
      'generate',
      '--no-progress',
      '--registries-conf',
      conf ?? registriesConf(labInfo!),
      ...(line && !args.includes('--contrast-release') ? ['--contrast-release', releases[line]] : []),
      ...args,
    ],
    { timeoutMs: 120_000 },
  );
}

/** The 1-vCPU TrustedMeasurement per product line of the 2026 fixture release for `platform`. */
function fixtureSeeds(platform: string): Record<string, Buffer> {
  const rv = JSON.parse(readFileSync(join(releases['2026'], 'reference-values.json'), 'utf8')) as Record<
    string,
    // camelCase keys, as the release build writes the file (scripts/make-fixture-releases.mjs).
    { snp?: Array<{ productName: string; trustedMeasurement: string }> }
  >;
  const handler = `contrast-cc-${platform.toLowerCase()}-f26a0001`;
  return Object.fromEntries(
    (rv[handler]?.snp ?? []).map((v) => [v.productName, Buffer.from(v.trustedMeasurement, 'hex')]),
  );
}

/**
 * The 2026 ID-block annotations of a pod for one product line (cli/cmd/generate.go: kata prefix
 * "io.katacontainers.config.hypervisor." + snp_id_block_/snp_id_auth_/snp_guest_policy_ + product):
 * ID block with the expected launch digest, a 4096-byte ID auth, the fixture's guest policy (SMT) as
 * a decimal uint64.
 */
function assertIdBlock(p: Pod, product: string, launchDigest: Buffer): void {
  const prefix = 'io.katacontainers.config.hypervisor.';
  const block = Buffer.from(p.annotations[`${prefix}snp_id_block_${product}`] ?? '', 'base64');
  assert.equal(block.length, 96, `${p.name}: snp_id_block_${product}`);
  assert.deepEqual(
    block.subarray(0, 48),
    launchDigest,
    `${p.name}: launch digest in the ${product} ID block`,
  );
  assert.equal(Buffer.from(p.annotations[`${prefix}snp_id_auth_${product}`] ?? '', 'base64').length, 4096);
  assert.equal(p.annotations[`${prefix}snp_guest_policy_${product}`], String(0x30000));
}

interface Pod {
  kind: string;
  name: string;
  annotations: Record<string, string>;
  spec: {
    runtimeClassName?: string;
    initContainers?: Array<{ name: string; image: string }>;
    containers: Array<{ name: string; image: string }>;
  };
}

function pods(path: string): Pod[] {
  const out: Pod[] = [];
  for (const d of parseAllDocuments(readFileSync(path, 'utf8')) as ReturnType<typeof parseDocument>[]) {
    const o = d.toJS() as {
      kind: string;
      metadata: { name: string };
      spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec: Pod['spec'] } };
    };
    if (!o?.spec?.template) continue;
    out.push({
      kind: o.kind,
      name: o.metadata.name,
      annotations: o.spec.template.metadata?.annotations ?? {},
      spec: o.spec.template.spec,
    });
  }
  return out;
}

function readManifest(dir: string): {
  Policies: Record<string, { SANs: string[]; WorkloadSecretID?: string; Role?: string }>;
  ReferenceValues: { snp?: unknown[]; tdx?: unknown[] };
  WorkloadOwnerKeyDigests: string[] | null;
  SeedshareOwnerPubKeys: string[] | null;
} {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
}

function ok(t: TestContext, r: CliResult): void {
  if (r.code !== 0) t.diagnostic(r.stderr);
  assert.equal(r.code, 0, r.stderr);
}

describe('contrast generate on the lab registry', () => {
  test('the example deployment: progress, policies, manifest, keys; a second run changes nothing', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace({ freshKeys: true });
    // A file without confidential workloads is never touched; a workload secret ID annotation is used.
    const plain =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: plain}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: busybox}]\n';
    writeFileSync(join(deploy, 'plain.yml'), plain);
    const apiPath = join(deploy, 'api.yml');
    writeFileSync(
      apiPath,
      readFileSync(apiPath, 'utf8').replace(
        '  template:\n    metadata:\n',
        '  template:\n    metadata:\n      annotations:\n        contrast.edgeless.systems/workload-secret-id: api-secret\n',
      ),
    );
    const r = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', deploy]);
    ok(t, r);
    assert.equal(readFileSync(join(deploy, 'plain.yml'), 'utf8'), plain);
    assert.match(
      r.stdout,
      /^✔️ Patched targets\n✔️ Generated workload policy annotations\n✔️ Updated manifest .*manifest\.json\n$/,
    );
    const m = readManifest(dir);
    const all = ['coordinator.yml', 'web.yml', 'api.yml'].flatMap((f) => pods(join(deploy, f)));
    assert.equal(all.length, 3);
    for (const p of all) {
      const value = p.annotations[INITDATA_ANNOTATION];
      assert.ok(value, `${p.name} has initdata`);
      const entry = m.Policies[policyHash(INITDATA_ANNOTATION, value)];
      assert.ok(entry, `${p.name}: its digest is in the manifest`);
      assert.deepEqual(entry.SANs, [p.name, '*']);
      assert.equal(
        entry.WorkloadSecretID,
        p.name === 'api' ? 'api-secret' : `apps/v1/${p.kind}/default/${p.name}`,
      );
      assert.equal(entry.Role, p.name === 'coordinator' ? 'coordinator' : undefined);
      // The release's handler (runtime-metal-qemu-snp.yml), never one it does not ship.
      assert.equal(p.spec.runtimeClassName, 'contrast-cc-metal-qemu-snp-f25a0001');
      // 2025 line: default_vcpus and the ID block of the release's table for that count (Milan's value).
      assert.equal(p.annotations['io.katacontainers.config.hypervisor.default_vcpus'], '1');
      assert.equal(
        p.annotations['contrast.edgeless.systems/snp-id-block/metal-qemu-snp'],
        JSON.parse(readFileSync(join(releases['2025'], 'snp-id-blocks.json'), 'utf8'))['metal-qemu-snp']
          .Milan['1'].idBlock,
      );
      for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers])
        assert.match(c.image, /@sha256:[0-9a-f]{64}$/, `${p.name}/${c.name}`);
    }
    const web = all.find((p) => p.name === 'web')!;
    assert.deepEqual(
      web.spec.initContainers?.map((c) => c.name),
      ['contrast-initializer', 'contrast-service-mesh'],
    );
    assert.equal(
      web.spec.initContainers?.[0]?.image,
      `ghcr.io/edgelesssys/contrast/initializer:v0.0.0-fixture.2025@${seed.multiV1}`,
    );
    assert.deepEqual(all.find((p) => p.name === 'coordinator')!.spec.initContainers, undefined);
    // Keys: generated once, 0600, recorded.
    for (const k of ['workload-owner.pem', 'seedshare-owner.pem'])
      assert.equal(statSync(join(dir, k)).mode & 0o777, 0o600);
    assert.deepEqual(m.WorkloadOwnerKeyDigests, [
      workloadOwnerKeyDigest(readFileSync(join(dir, 'workload-owner.pem'), 'utf8')),
    ]);
    assert.equal(m.SeedshareOwnerPubKeys?.length, 1);
    assert.deepEqual(Object.keys(m.ReferenceValues), ['snp']);
    const manifestText = readFileSync(join(dir, 'manifest.json'), 'utf8');
    assert.ok(manifestText.endsWith('}\n') && manifestText.includes('\n  "Policies": {\n'));

    const before = snapshot(dir);
    const again = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', deploy]);
    ok(t, again);
    const afterRun = snapshot(dir);
    delete before['layers-cache.json'];
    delete afterRun['layers-cache.json'];
    assert.deepEqual(afterRun, before);
  });

  for (const platform of PLATFORMS) {
    test(`platform ${platform.name}: handler, flavour annotation, reference values`, async (t) => {
      if (!requireLab(t)) return;
      const { dir, deploy } = workspace();
      const r = await generate(dir, ['--reference-values', platform.name.toLowerCase(), deploy]);
      if (platform.historical) {
        // Not a platform of the selected release (nor of any current one): refused, pointing at policy generate.
        assert.equal(r.code, 1);
        assert.match(r.stderr, /has no runtime for AKS-CLH-SNP; .*policy generate --flavour host-pull/);
        return;
      }
      ok(t, r);
      const m = readManifest(dir);
      assert.deepEqual(Object.keys(m.ReferenceValues), [platform.referenceValues]);
      for (const p of pods(join(deploy, 'web.yml'))) {
        assert.equal(p.spec.runtimeClassName, `${platform.handlerPrefix}-f25a0001`);
        const other = platform.annotation === INITDATA_ANNOTATION ? POLICY_ANNOTATION : INITDATA_ANNOTATION;
        assert.ok(p.annotations[platform.annotation], platform.annotation);
        assert.equal(p.annotations[other], undefined);
        // §4.5: SNP pods get their vCPU count (a string; web.yml sets no CPU: 0 + 1), TDX pods don't.
        assert.equal(
          p.annotations['io.katacontainers.config.hypervisor.default_vcpus'],
          platform.referenceValues === 'snp' ? '1' : undefined,
        );
        assert.ok(m.Policies[policyHash(platform.annotation, p.annotations[platform.annotation]!)]);
      }
    });
  }

  test("explicit runtime classes pick the platform and get the release's handler; a reference-values file supplies values", async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    for (const f of ['coordinator.yml', 'web.yml', 'api.yml']) {
      const p = join(deploy, f);
      writeFileSync(
        p,
        readFileSync(p, 'utf8').replace(
          'runtimeClassName: contrast-cc',
          'runtimeClassName: contrast-cc-metal-qemu-tdx-0a0b0c0d',
        ),
      );
    }
    const tdx = placeholderReferenceValues(PLATFORMS.find((p) => p.name === 'Metal-QEMU-TDX')!).tdx!.map(
      (v) => ({
        ...v,
        MrTd: 'aa'.repeat(48),
        Rtmrs: ['bb', 'cc', 'dd', 'ee'].map((x) => x.repeat(48)),
      }),
    );
    const rvFile = join(dir, 'reference-values.json');
    writeFileSync(rvFile, JSON.stringify({ 'contrast-cc-metal-qemu-tdx-1a2b3c4d': { tdx } }));
    const r = await generate(dir, ['--reference-values-file', rvFile, deploy]);
    ok(t, r);
    assert.equal(
      pods(join(deploy, 'api.yml'))[0]!.spec.runtimeClassName,
      'contrast-cc-metal-qemu-tdx-f25a0001',
    );
    const m = readManifest(dir);
    assert.deepEqual(m.ReferenceValues.tdx?.[0], { ...tdx[0] });
    // Only MrSeam is left for the user; Go prints that on stdout (ExpectedMissingReferenceValueError).
    assert.match(
      r.stdout,
      /\n {2}tdx\[0\]\.MrSeam: Please fill in all reference values for field cannot be empty\n/,
    );
    assert.doesNotMatch(r.stdout, /MrTd/);
  });

  test('-o writes all YAML into one file and leaves the inputs alone', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const inputs = snapshot(deploy);
    const out = join(dir, 'all.yml');
    ok(t, await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', '-o', out, deploy]));
    assert.deepEqual(snapshot(deploy), inputs);
    const docs = parseAllDocuments(readFileSync(out, 'utf8')) as ReturnType<typeof parseDocument>[];
    const kinds = docs.map((d) => (d.toJS() as { kind: string; metadata: { name: string } }).metadata.name);
    assert.deepEqual(kinds.sort(), [
      'api',
      'api',
      'api-config',
      'coordinator',
      'coordinator',
      'coordinator-ready',
      'web',
      'web',
    ]);
    const bad = await generate(dir, [
      '--reference-values',
      'Metal-QEMU-SNP',
      '-o',
      join(dir, 'missing-dir', 'x.yml'),
      deploy,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--output .*missing-dir\/x\.yml: directory .* does not exist/);
  });

  test('an existing manifest: reference values and key digests kept, policies replaced; --disable-updates', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const snp = placeholderReferenceValues(PLATFORMS[0]!).snp!.map((v) => ({
      ...v,
      TrustedMeasurement: 'ab'.repeat(48),
      MinimumTCB: { BootloaderVersion: 3, TEEVersion: 0, SNPVersion: 8, MicrocodeVersion: 115 },
    }));
    const otherKey = 'f'.repeat(64);
    const existing = (entry: { SANs: string[]; Role?: string }) =>
      JSON.stringify({
        Policies: { ['0'.repeat(64)]: entry },
        ReferenceValues: { snp },
        WorkloadOwnerKeyDigests: [otherKey],
        SeedshareOwnerPubKeys: [],
      });
    // The 2025 line's Validate() wants exactly one Coordinator in the existing manifest too
    // (CoordinatorCountError; test/manifest-validate.test.ts cites the source); nothing is written.
    writeFileSync(join(dir, 'manifest.json'), existing({ SANs: ['old', '*'] }));
    const noCoordinator = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', deploy]);
    assert.equal(noCoordinator.code, 1, noCoordinator.stderr);
    assert.match(
      noCoordinator.stderr,
      /manifest\.json: validate existing manifest:\n {2}Policies: expected exactly 1 policy with role 'coordinator', got 0/,
    );
    assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), existing({ SANs: ['old', '*'] }));
    writeFileSync(join(dir, 'manifest.json'), existing({ SANs: ['old', '*'], Role: 'coordinator' }));
    const r = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', deploy]);
    ok(t, r);
    assert.doesNotMatch(r.stderr, /Please fill in/);
    const m = readManifest(dir);
    assert.deepEqual(m.ReferenceValues, { snp });
    assert.equal(m.Policies['0'.repeat(64)], undefined);
    assert.equal(Object.keys(m.Policies).length, 3);
    assert.deepEqual(
      m.WorkloadOwnerKeyDigests,
      [workloadOwnerKeyDigest(readFileSync(join(dir, 'workload-owner.pem'), 'utf8')), otherKey].sort(),
    );

    const d = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', '--disable-updates', deploy]);
    ok(t, d);
    assert.equal(readManifest(dir).WorkloadOwnerKeyDigests, null);
    assert.match(readFileSync(join(dir, 'manifest.json'), 'utf8'), /"WorkloadOwnerKeyDigests": null/);
    const conflict = await generate(dir, [
      '--reference-values',
      'Metal-QEMU-SNP',
      '--disable-updates',
      '-w',
      join(dir, 'workload-owner.pem'),
      deploy,
    ]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /--add-workload-owner-key conflicts with --disable-updates/);
  });

  test('--disable-updates on a fresh workspace generates no workload owner key', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    ok(t, await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', '-d', deploy]));
    assert.equal(existsSync(join(dir, 'workload-owner.pem')), false);
    assert.equal(readManifest(dir).WorkloadOwnerKeyDigests, null);
  });

  test('owner keys: several given keys are all recorded; a missing one of several is an error', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const k1 = join(dir, 'a.pem');
    const k2 = join(dir, 'b.pem');
    writeFileSync(k1, newWorkloadOwnerKey());
    writeFileSync(k2, newWorkloadOwnerKey());
    ok(t, await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', '-w', k1, '-w', k2, deploy]));
    assert.deepEqual(
      readManifest(dir).WorkloadOwnerKeyDigests,
      [k1, k2].map((k) => workloadOwnerKeyDigest(readFileSync(k, 'utf8'))).sort(),
    );
    assert.equal(existsSync(join(dir, 'workload-owner.pem')), false);
    const before = snapshot(dir);
    const r = await generate(dir, [
      '--reference-values',
      'Metal-QEMU-SNP',
      '-w',
      k1,
      '-w',
      join(dir, 'nope.pem'),
      deploy,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /reading key .*nope\.pem/);
    const now = snapshot(dir);
    // Caches (content-addressed or merged under a lock) may grow; the user's files may not change.
    for (const snap of [before, now]) {
      for (const k of Object.keys(snap)) {
        if (k === 'layers-cache.json' || k.startsWith('image-metadata/')) delete snap[k];
      }
    }
    assert.deepEqual(now, before);
  });

  test('image replacements pin injected images (no resolution needed for them)', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const { dir, deploy } = workspace();
    const repl = join(dir, 'replacements.txt');
    const target = `${l.a}/test/multi:v1@${seed.multiV1}`;
    writeFileSync(repl, `# release pins\nghcr.io/edgelesssys/contrast/initializer:latest=${target}\n`);
    const r = await generate(dir, [
      '--reference-values',
      'Metal-QEMU-SNP',
      '--image-replacements',
      repl,
      '--insecure-registry',
      l.a,
      deploy,
    ]);
    ok(t, r);
    // The user's line wins over the release's pin; everything else is pinned by the release, so
    // nothing is resolved at generate time.
    assert.doesNotMatch(r.stderr, /pinned ghcr\.io\/edgelesssys\/contrast/);
    assert.equal(pods(join(deploy, 'web.yml'))[0]!.spec.initContainers?.[0]?.image, target);
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'just-an-image\n');
    const b = await generate(dir, [
      '--reference-values',
      'Metal-QEMU-SNP',
      '--image-replacements',
      bad,
      deploy,
    ]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /bad\.txt:1: "just-an-image" is not an image=replacement line/);
  });

  test('--skip-initializer and --skip-service-mesh inject nothing', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    ok(
      t,
      await generate(dir, [
        '--reference-values',
        'Metal-QEMU-SNP',
        '--skip-initializer',
        '--skip-service-mesh',
        deploy,
      ]),
    );
    for (const f of ['web.yml', 'api.yml']) {
      const p = pods(join(deploy, f))[0]!;
      assert.equal(p.spec.initContainers, undefined, f);
      assert.ok(p.annotations[INITDATA_ANNOTATION], f);
    }
  });

  test('debug shell: injected, initdata carries contrast.insecure-debug, idempotent', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    ok(
      t,
      await generate(dir, [
        '--reference-values',
        'Metal-QEMU-SNP',
        '--insecure-enable-debug-shell-access',
        '--inject-image-store',
        deploy,
      ]),
    );
    const web = pods(join(deploy, 'web.yml'))[0]!;
    assert.deepEqual(
      web.spec.initContainers?.map((c) => c.name),
      ['pvc-holder', 'contrast-initializer', 'contrast-debug-shell', 'contrast-service-mesh'],
    );
    const toml = (await import('node:zlib'))
      .gunzipSync(Buffer.from(web.annotations[INITDATA_ANNOTATION]!, 'base64'))
      .toString();
    assert.match(toml, /"contrast\.insecure-debug" = '''\ntrue'''|"contrast\.insecure-debug" = "true"/);
    const before = snapshot(deploy);
    ok(
      t,
      await generate(dir, [
        '--reference-values',
        'Metal-QEMU-SNP',
        '--insecure-enable-debug-shell-access',
        '--inject-image-store',
        deploy,
      ]),
    );
    assert.deepEqual(snapshot(deploy), before);
  });

  test("the Contrast guide's DOCKER_CONFIG=$(mktemp) script, unchanged, generates with the credential it wrote", async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const { dir, deploy } = workspace();
    // api.yml now needs registry b, which refuses anonymous pulls.
    const api = join(deploy, 'api.yml');
    const text = readFileSync(api, 'utf8');
    writeFileSync(
      api,
      text.replace(/image: registry\.example\.com\/demo\/api:v1@/, `image: ${l.b}/test/app:v1-docker@`),
    );
    const bin = join(dir, 'bin');
    const tmp = join(dir, 'tmp');
    mkdirSync(bin);
    mkdirSync(tmp);
    installContrast(bin);
    const script = join(dir, 'guide.sh');
    writeFileSync(script, fillGuideScript(l.b, l.user, l.pass));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${bin}:${process.env['PATH'] ?? ''}`,
      TMPDIR: tmp,
      HOME: dir,
    };
    delete env['DOCKER_CONFIG'];
    delete env['REGISTRY_AUTH_FILE'];
    const conf = registriesConf(l);
    const r = await new Promise<CliResult>((done, fail) => {
      const child = spawn(
        'sh',
        [
          script,
          '--log-level',
          'debug',
          '--no-progress',
          '--registries-conf',
          conf,
          '--ca-file',
          l.caCert,
          '--reference-values',
          'Metal-QEMU-SNP',
          '--contrast-release',
          releases['2025'],
          'deploy',
        ],
        { cwd: dir, env },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', fail);
      child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    });
    ok(t, r);
    // The credential came from the mktemp file itself (not <file>/config.json, not anonymous).
    assert.match(r.stderr, new RegExp(`${escapeRegExp(tmp)}/tmp\\.[^,\\s]*, key "${escapeRegExp(l.b)}"`));
    assert.ok(!(r.stdout + r.stderr).includes(l.pass), 'the password must never be printed');
    assert.ok(!(r.stdout + r.stderr).includes(Buffer.from(`${l.user}:${l.pass}`).toString('base64')));
    const apiPod = pods(api)[0]!;
    assert.ok(apiPod.annotations[INITDATA_ANNOTATION]);
  });
});

/** A copy of the lab-pinned release of `line` under `name`, without the files in `skip`. */
function copyRelease(line: '2025' | '2026', name: string, ...skip: string[]): string {
  const rel = join(root, name);
  mkdirSync(rel, { recursive: true });
  for (const f of readdirSync(releases[line]))
    if (!skip.includes(f)) copyFileSync(join(releases[line], f), join(rel, f));
  return rel;
}

describe('generate per Contrast release line', () => {
  test('2026 line: handler, no default_vcpus, WorkloadOwnerPubKeys, APEIP, Go output lines; Go Validate() accepts; the recorded release is reused', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const r = await generate(
      dir,
      ['--reference-values', 'Metal-QEMU-SNP', '--insecure-enable-debug-shell-access', deploy],
      undefined,
      { release: '2026' },
    );
    ok(t, r);
    // cli/cmd/generate.go: the debug line follows "Generated workload policy annotations".
    assert.match(
      r.stdout,
      /^✔️ Patched targets\n✔️ Generated workload policy annotations\n⚠️ Insecure debug shell access enabled!\n✔️ Updated manifest .*manifest\.json\n$/,
    );
    const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
    const m = JSON.parse(text) as Record<string, unknown> & {
      ReferenceValues: { snp: Array<Record<string, unknown>> };
    };
    assert.deepEqual(Object.keys(m), [
      'Policies',
      'ReferenceValues',
      'WorkloadOwnerPubKeys',
      'SeedshareOwnerPubKeys',
    ]);
    assert.deepEqual(m['WorkloadOwnerPubKeys'], [
      workloadOwnerPubKeyHex(readFileSync(join(dir, 'workload-owner.pem'), 'utf8')),
    ]);
    assert.equal(m.ReferenceValues.snp[0]!['APEIP'], '0080b004');
    assert.equal(m.ReferenceValues.snp[0]!['Platform'], 'Metal-QEMU-SNP');
    // What the Go CLI of this line does with an existing manifest: json.Unmarshal + Validate(), any finding fatal.
    assert.deepEqual(parseManifest(text, 'manifest.json', { line: '2026' }).warnings, []);
    const seeds = fixtureSeeds('Metal-QEMU-SNP');
    for (const p of ['coordinator.yml', 'web.yml', 'api.yml'].flatMap((f) => pods(join(deploy, f)))) {
      assert.equal(p.spec.runtimeClassName, 'contrast-cc-metal-qemu-snp-f26a0001');
      assert.equal(p.annotations['io.katacontainers.config.hypervisor.default_vcpus'], undefined);
      assert.equal(p.annotations['contrast.edgeless.systems/snp-id-block/metal-qemu-snp'], undefined);
      // No CPU limits: 1 vCPU, so each product line's ID block carries its 1-vCPU TrustedMeasurement.
      for (const product of ['Genoa', 'Milan']) assertIdBlock(p, product, seeds[product]!);
    }
    assert.equal(
      JSON.parse(readFileSync(join(dir, 'contrast-release.json'), 'utf8')).version,
      'v0.0.0-fixture.2026',
    );
    const before = snapshot(dir);
    const again = await generate(
      dir,
      // The release line is an info message (the default level is the Go CLI's warn).
      [
        '--log-level',
        'info',
        '--reference-values',
        'Metal-QEMU-SNP',
        '--insecure-enable-debug-shell-access',
        deploy,
      ],
      undefined,
      { release: null },
    );
    ok(t, again);
    assert.match(
      again.stderr,
      /Contrast v0\.0\.0-fixture\.2026 \(2026 line\) .*\(recorded in .*contrast-release\.json\)/,
    );
    const afterRun = snapshot(dir);
    delete before['layers-cache.json'];
    delete afterRun['layers-cache.json'];
    assert.deepEqual(afterRun, before);
  });

  test("2025 line: the manifest passes that line's Validate(); WorkloadOwnerKeyDigests", async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    ok(t, await generate(dir, ['--reference-values', 'Metal-QEMU-TDX', deploy]));
    const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
    assert.deepEqual(parseManifest(text, 'manifest.json', { line: '2025' }).warnings, []);
    assert.deepEqual(Object.keys(JSON.parse(text)), [
      'Policies',
      'ReferenceValues',
      'WorkloadOwnerKeyDigests',
      'SeedshareOwnerPubKeys',
    ]);
  });

  // Done-when of issue 12: per release line, the examples give YAML and a manifest the Go CLI of that
  // line accepts: its Validate() with any finding fatal (cli/cmd/generate.go reading an existing
  // manifest), its Coordinator rule, and the verifiers run again on the output YAML.
  for (const line of ['2025', '2026'] as const)
    for (const platform of ['Metal-QEMU-SNP', 'Metal-QEMU-TDX'])
      test(`${line} line, ${platform}: Go's Validate(), Coordinator rule and verifiers accept the output`, async (t) => {
        if (!requireLab(t)) return;
        const { dir, deploy } = workspace();
        ok(t, await generate(dir, ['--reference-values', platform, deploy], undefined, { release: line }));
        const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
        const { manifest, warnings, ignored } = parseManifest(text, 'manifest.json', { line });
        assert.deepEqual(warnings, []);
        assert.deepEqual(ignored, []);
        assert.deepEqual(coordinatorIssues(manifest, line), []);
        const files = ['coordinator.yml', 'web.yml', 'api.yml'].map((f) =>
          parseKubeFile(f, readFileSync(join(deploy, f), 'utf8')),
        );
        const workloads = findWorkloads(files);
        assert.equal(workloads.length, 3);
        verifyBefore(workloads, { haveDefaultPlatform: false });
        verifyAfter(workloads, { releaseVersion: `v0.0.0-fixture.${line}` });
        // Every policy in the YAML is in the manifest, and nothing else is.
        const hashes = ['coordinator.yml', 'web.yml', 'api.yml']
          .flatMap((f) => pods(join(deploy, f)))
          .map((p) => policyHash(INITDATA_ANNOTATION, p.annotations[INITDATA_ANNOTATION]!));
        assert.deepEqual(Object.keys(manifest.Policies ?? {}).sort(), [...hashes].sort());
      });

  test('2026 line: GPU pods with the generic class get the GPU runtime, an explicit class is kept; too few vCPUs for the GPUs is an error; SNP pods with several vCPUs get computed ID blocks', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const api = join(deploy, 'api.yml');
    const text = readFileSync(api, 'utf8');
    writeFileSync(
      api,
      text.replace(
        '              memory: 128Mi\n',
        '              memory: 128Mi\n              cpu: "1"\n              nvidia.com/gpu: "1"\n',
      ),
    );
    assert.match(readFileSync(api, 'utf8'), /nvidia\.com\/gpu/);
    ok(
      t,
      await generate(dir, ['--reference-values', 'Metal-QEMU-TDX', deploy], undefined, { release: '2026' }),
    );
    assert.equal(pods(api)[0]!.spec.runtimeClassName, 'contrast-cc-metal-qemu-tdx-gpu-f26a0001');
    assert.equal(
      pods(join(deploy, 'web.yml'))[0]!.spec.runtimeClassName,
      'contrast-cc-metal-qemu-tdx-f26a0001',
    );

    // A class naming its platform keeps it even with GPUs: Go's patchRuntimeClassName switches only
    // the generic contrast-cc / kata-cc-isolation (cli/cmd/generate.go at 07b05e7a).
    const { dir: dirX, deploy: deployX } = workspace();
    const apiX = join(deployX, 'api.yml');
    writeFileSync(
      apiX,
      text
        .replace('runtimeClassName: contrast-cc', 'runtimeClassName: contrast-cc-metal-qemu-tdx')
        .replace(
          '              memory: 128Mi\n',
          '              memory: 128Mi\n              cpu: "1"\n              nvidia.com/gpu: "1"\n',
        ),
    );
    ok(
      t,
      await generate(dirX, ['--reference-values', 'Metal-QEMU-TDX', deployX], undefined, {
        release: '2026',
      }),
    );
    assert.equal(pods(apiX)[0]!.spec.runtimeClassName, 'contrast-cc-metal-qemu-tdx-f26a0001');

    const { dir: dir2, deploy: deploy2 } = workspace();
    const api2 = join(deploy2, 'api.yml');
    writeFileSync(
      api2,
      text.replace(
        '              memory: 128Mi\n',
        '              memory: 128Mi\n              nvidia.com/gpu: "2"\n',
      ),
    );
    const few = await generate(dir2, ['--reference-values', 'Metal-QEMU-TDX', deploy2], undefined, {
      release: '2026',
    });
    assert.equal(few.code, 1);
    assert.match(
      few.stderr,
      /GPUCountValid: pod failed verification: GPU workloads require at least as many vCPUs as GPUs, but 1 vCPUs were requested for 2 GPUs/,
    );
    // The count checks run while the manifests and configs are being fetched, but a failing check
    // comes before any layer is streamed: no layer was analysed, so no layer cache was written.
    assert.equal(existsSync(join(dir2, 'layers-cache.json')), false);
    // Go runs every patch before it reads the policy settings: with a broken settings file too, the
    // count check's error is the one reported (we read the settings earlier, to request the images).
    writeFileSync(join(dir2, 'settings.json'), '{ not json');
    const both = await generate(dir2, ['--reference-values', 'Metal-QEMU-TDX', deploy2], undefined, {
      release: '2026',
    });
    assert.equal(both.code, 1);
    assert.match(both.stderr, /GPUCountValid: pod failed verification/);
    assert.doesNotMatch(both.stderr, /settings/);
    // Alone, the broken settings file is reported.
    writeFileSync(api2, text);
    const settingsOnly = await generate(dir2, ['--reference-values', 'Metal-QEMU-TDX', deploy2], undefined, {
      release: '2026',
    });
    assert.equal(settingsOnly.code, 1);
    assert.match(settingsOnly.stderr, /settings\.json/);

    const { dir: dir3, deploy: deploy3 } = workspace();
    const api3 = join(deploy3, 'api.yml');
    writeFileSync(
      api3,
      text.replace('              memory: 128Mi\n', '              memory: 128Mi\n              cpu: "2"\n'),
    );
    const snp = await generate(dir3, ['--reference-values', 'Metal-QEMU-SNP', deploy3], undefined, {
      release: '2026',
    });
    ok(t, snp);
    // cpu "2" → 2 + 1 = 3 vCPUs: the 1-vCPU measurement extended by two AP VMSA pages.
    const seeds = fixtureSeeds('Metal-QEMU-SNP');
    const apiPod = pods(api3)[0]!;
    for (const product of ['Genoa', 'Milan'])
      assertIdBlock(
        apiPod,
        product,
        extendLaunchDigest(seeds[product]!, 3, 0x80b004, PRODUCT_CPU_SIG[product]!),
      );
    assertIdBlock(pods(join(deploy3, 'web.yml'))[0]!, 'Milan', seeds['Milan']!);
  });

  test("2026 line, a release's reference-values.json exactly as the build writes it (no minimumTCB): Go's Please-fill-in lines, every field written", async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const rel = copyRelease('2026', 'release-2026-real-rv');
    const rvPath = join(rel, 'reference-values.json');
    const rv = JSON.parse(readFileSync(rvPath, 'utf8')) as Record<
      string,
      { snp?: Array<Record<string, unknown>> }
    >;
    for (const v of Object.values(rv)) for (const s of v.snp ?? []) delete s['minimumTCB'];
    writeFileSync(rvPath, JSON.stringify(rv));
    const r = await generateWithRelease(dir, 'Metal-QEMU-SNP', rel, deploy);
    ok(t, r);
    for (const i of [0, 1])
      assert.match(
        r.stdout,
        new RegExp(
          `\\n {2}snp\\[${i}\\]\\.MinimumTCB\\.BootloaderVersion: Please fill in all reference values for`,
        ),
      );
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const snp = m.ReferenceValues.snp[0];
    assert.deepEqual(Object.keys(snp), [
      'Platform',
      'ProductName',
      'TrustedMeasurement',
      'APEIP',
      'MinimumTCB',
      'GuestPolicy',
      'PlatformInfo',
      'MinimumMitigationVector',
      'AllowedChipIDs',
    ]);
    assert.equal(snp.MinimumTCB.BootloaderVersion, null);
    assert.equal(snp.PlatformInfo.TIOEnabled, false);
    assert.equal(snp.GuestPolicy.PageSwapDisable, false);
  });

  test('2026 line: without ap-eip.hex the manifest has no APEIP and SNP pods cannot get ID blocks', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const rel = copyRelease('2026', 'release-2026-no-apeip', 'ap-eip.hex');
    // Without ap-eip.hex only a manifest.json of that release tells the line (reference values do not).
    writeFileSync(join(rel, 'manifest.json'), '{"WorkloadOwnerPubKeys": []}\n');
    const r = await generateWithRelease(dir, 'Metal-QEMU-SNP', rel, deploy);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /AP EIP not available; falling back to pre-computed launch digests: .*has no ap-eip\.hex/,
    );
    assert.match(
      r.stderr,
      /could not compute ID block for any product \(1 vCPUs on Metal-QEMU-SNP\): no SNP reference values with APEIP for product "Genoa" on platform "Metal-QEMU-SNP"; no SNP reference values with APEIP for product "Milan"/,
    );
  });
});

describe('release pins and output lines', () => {
  test('a release that pins no Initializer: generate refuses instead of resolving :latest', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const { dir, deploy } = workspace();
    const rel = copyRelease('2026', 'release-2026-unpinned');
    writeFileSync(
      join(rel, 'image-replacements.txt'),
      readFileSync(join(rel, 'image-replacements.txt'), 'utf8').replace(/^.*\/initializer:latest=.*\n/m, ''),
    );
    const r = await generateWithRelease(dir, 'Metal-QEMU-SNP', rel, deploy);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /pins no image for:\n {2}.*container "contrast-initializer": ghcr\.io\/edgelesssys\/contrast\/initializer:latest/,
    );
    assert.match(r.stderr, /image-replacements\.txt/);
  });

  test('a release without reference values for the platform: no manifest from anywhere else, nothing written', async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    const rel = copyRelease('2026', 'release-2026-no-rv');
    const rvPath = join(rel, 'reference-values.json');
    const rv = JSON.parse(readFileSync(rvPath, 'utf8')) as Record<string, unknown>;
    delete rv['contrast-cc-metal-qemu-tdx-f26a0001'];
    writeFileSync(rvPath, JSON.stringify(rv));
    const before = snapshot(dir);
    const r = await generateWithRelease(dir, 'Metal-QEMU-TDX', rel, deploy);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Contrast v0\.0\.0-fixture\.2026 \(.*\) has no reference values for Metal-QEMU-TDX/,
    );
    assert.deepEqual(snapshot(dir), before);
  });

  test("no Coordinator: Go's hint on stdout, then the count error", async (t) => {
    if (!requireLab(t)) return;
    const { dir, deploy } = workspace();
    rmSync(join(deploy, 'coordinator.yml'));
    const r = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', deploy], undefined, {
      release: '2026',
    });
    assert.equal(r.code, 1);
    // Go's hint line, but no ✔ line: nothing was written (issue 13: ✔ only for what is committed).
    assert.equal(r.stdout, '  No Coordinator resource found, did you forget to add it to your resources?\n');
    assert.match(r.stderr, /expected at least 1 policy with role 'coordinator'/);
  });
});

describe('failures leave every file byte-identical', () => {
  /** Runs generate once successfully, mutates, then checks a failing run touches nothing. */
  async function expectUntouched(
    t: TestContext,
    mutate: (deploy: string, dir: string, l: Lab) => string[] | void,
    message: RegExp | ((l: Lab) => RegExp),
    conf?: (l: Lab) => string,
  ): Promise<void> {
    const l = requireLab(t);
    if (!l) return;
    const { dir, deploy } = workspace();
    ok(t, await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', deploy]));
    const extra = mutate(deploy, dir, l) ?? [];
    const before = snapshot(dir);
    const r = await generate(dir, ['--reference-values', 'Metal-QEMU-SNP', ...extra, deploy], conf?.(l));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, typeof message === 'function' ? message(l) : message);
    const now = snapshot(dir);
    // Caches (content-addressed or merged under a lock) may grow; the user's files may not change.
    for (const snap of [before, now]) {
      for (const k of Object.keys(snap)) {
        if (k === 'layers-cache.json' || k.startsWith('image-metadata/')) delete snap[k];
      }
    }
    assert.deepEqual(now, before);
  }

  const edit = (path: string, from: string | RegExp, to: string): void => {
    const text = readFileSync(path, 'utf8');
    const next = text.replace(from, to);
    assert.notEqual(next, text, `edit of ${path} did not apply`);
    writeFileSync(path, next);
  };

  test('registry down', async (t) => {
    await expectUntouched(
      t,
      (deploy, dir) => {
        edit(join(deploy, 'api.yml'), 'demo/api:v1@', 'demo/api-new:v1@');
        // Digest-pinned images with cached manifests and configs need no registry (issue 15): drop
        // that cache so the pinned Contrast images must be fetched from the unreachable mirror.
        rmSync(join(dir, 'image-metadata'), { recursive: true, force: true });
      },
      // The release pins Contrast's images; analysing them fails and the error names each, every user
      // and how to mirror it.
      // every endpoint tried (mirror, then the registry) on its own line, then who uses the image
      /image ghcr\.io\/edgelesssys\/contrast\/\S+: .*every endpoint failed:\n(\s+\d\. .*cannot reach[^\n]*\n)+ {4}used by .*\.yml: Deployment\/(api|web) container "[^"]+"/,
      (l) => registriesConf(l, '127.0.0.1:1'),
    );
  });

  test('wrong password', async (t) => {
    await expectUntouched(
      t,
      (deploy, dir, l) => {
        edit(
          join(deploy, 'api.yml'),
          /image: registry\.example\.com\/demo\/api:v1@/,
          `image: ${l.b}/test/app:v1@`,
        );
        // Digest-pinned images whose manifest and config are cached need no request (issue 15), so
        // the wrong password would never be sent: drop the metadata cache to force the fetch.
        rmSync(join(dir, 'image-metadata'), { recursive: true, force: true });
        const auth = join(dir, 'bad-auth.json');
        writeFileSync(
          auth,
          JSON.stringify({ auths: { [l.b]: { auth: Buffer.from(`${l.user}:wrong`).toString('base64') } } }),
        );
        return ['--authfile', auth, '--ca-file', l.caCert];
      },
      (l) => new RegExp(`${escapeRegExp(l.b)}[\\s\\S]*(401|unauthorized|credentials|password)`, 'i'),
    );
  });

  test('unpinned image', async (t) => {
    await expectUntouched(
      t,
      (deploy) => edit(join(deploy, 'web.yml'), /demo\/web:v1@sha256:[0-9a-f]+/, 'demo/web:v1'),
      /web\.yml: Deployment\/web: container "web": ImageRefValid: image "registry\.example\.com\/demo\/web:v1" is not pinned by digest/,
    );
  });

  test('unsupported volume', async (t) => {
    await expectUntouched(
      t,
      (deploy) =>
        edit(
          join(deploy, 'api.yml'),
          /configMap:\n {12}name: api-config/,
          'hostPath:\n            path: /etc/api',
        ),
      /api\.yml: Deployment\/api: container "api": NoSharedFSMount: volume "config" \(mounted at \/etc\/api\) is of type hostPath/,
    );
  });

  test('two Coordinators', async (t) => {
    await expectUntouched(
      t,
      (deploy) => {
        const text = readFileSync(join(deploy, 'coordinator.yml'), 'utf8').split('\n---\n')[0]!;
        writeFileSync(
          join(deploy, 'coordinator2.yml'),
          text
            .replace('name: coordinator\n', 'name: coordinator2\n')
            .replace(
              /image: ghcr\.io\/edgelesssys\/contrast\/coordinator:latest(@sha256:[0-9a-f]+)?/,
              `image: registry.example.com/demo/api:v1@${seed.appV1Docker}`,
            ),
        );
      },
      /expected exactly 1 policy with role 'coordinator', got 2/,
    );
  });

  test('the same pod twice: policy hash collision', async (t) => {
    await expectUntouched(
      t,
      (deploy) => {
        const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: twin}\nspec:\n  runtimeClassName: contrast-cc\n  containers:\n    - name: c\n      image: registry.example.com/demo/web:v1@${seed.appV1}\n`;
        writeFileSync(join(deploy, 'twin-a.yml'), pod);
        writeFileSync(join(deploy, 'twin-b.yml'), pod);
      },
      /policy hash collision: .*twin-a\.yml: Pod\/twin and .*twin-b\.yml: Pod\/twin have the same policy [0-9a-f]{64} and SANs/,
    );
  });

  test('malformed YAML', async (t) => {
    await expectUntouched(
      t,
      (deploy) => writeFileSync(join(deploy, 'broken.yaml'), 'apiVersion: v1\nkind: [Pod\n'),
      /broken\.yaml:\d+:\d+: invalid YAML/,
    );
  });
});
