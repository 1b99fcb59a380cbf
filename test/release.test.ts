// Release selection and what differs per Contrast release line (no registry needed): reading a
// release directory, refusing what a release does not ship, the workspace record, `contrast --version`,
// the manifest schema and Validate() rules of each line, the vCPU formula, the 2026 verifiers.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findWorkloads, parseKubeFile } from '../src/kube/index.js';
import { podGPUs, podVCPUs } from '../src/contrast/vcpus.js';
import { verifyCounts, verifyVersionsMatch } from '../src/contrast/verify.js';
import { newWorkloadOwnerKey, workloadOwnerPubKeyHex } from '../src/contrast/keys.js';
import {
  coordinatorIssues,
  emptyManifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from '../src/contrast/manifest.js';
import { platformByName } from '../src/contrast/platforms.js';
import { SNP_GUEST_POLICY_FIELDS, validateReferenceValues } from '../src/contrast/referencevalues.js';
import { loadRelease, releaseHandler } from '../src/release/release.js';
import { runCli } from './helpers/cli.js';
import { fixtureRelease, repoRoot } from './helpers/shared.js';

const R2025 = fixtureRelease('2025');
const R2026 = fixtureRelease('2026');

function copyRelease(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'release-'));
  cpSync(src, dir, { recursive: true });
  return dir;
}

describe('reading a release directory', () => {
  test('handlers from runtime-<platform>.yml, version from the pinned images, line from ap-eip.hex / snp-id-blocks.json', async () => {
    const r = await loadRelease(R2026);
    assert.equal(r.version, 'v0.0.0-fixture.2026');
    assert.equal(r.line, '2026');
    assert.equal(r.handlers.get('Metal-QEMU-SNP'), 'contrast-cc-metal-qemu-snp-f26a0001');
    assert.equal(r.handlers.get('Metal-QEMU-TDX-GPU'), 'contrast-cc-metal-qemu-tdx-gpu-f26a0001');
    assert.match(
      r.imageReplacements.get('ghcr.io/edgelesssys/contrast/initializer:latest')!,
      /^ghcr\.io\/edgelesssys\/contrast\/initializer:v0\.0\.0-fixture\.2026@sha256:[0-9a-f]{64}$/,
    );
    // The AP reset EIP comes from ap-eip.hex (Go embeds cli/cmd/assets/ap-eip.hex), not the reference values.
    assert.equal(r.apEip, '0080b004');
    assert.equal(r.referenceValues?.byPlatform.get('Metal-QEMU-SNP')?.snp?.[0]?.['APEIP'], undefined);
    const old = await loadRelease(join(R2025, 'coordinator.yml')); // a file inside selects its directory
    assert.equal(old.line, '2025');
    assert.ok(old.snpIdBlocks?.['metal-qemu-snp']?.['Milan']?.['1']?.idBlock);
  });

  test('the release never yields a runtime it does not ship: AKS-CLH-SNP is refused with a pointer to policy generate', async () => {
    const r = await loadRelease(R2026);
    assert.throws(
      () => releaseHandler(r, platformByName('AKS-CLH-SNP')),
      (e: Error) =>
        /has no runtime for AKS-CLH-SNP; it ships Metal-QEMU-SNP/.test(e.message) &&
        /not a platform of current Contrast releases .*policy generate --flavour host-pull/.test(e.message),
    );
  });

  test('mixed releases, no runtime file, unknown line: each a clear error', async () => {
    const mixed = copyRelease(R2026);
    cpSync(join(R2025, 'coordinator.yml'), join(mixed, 'coordinator.yml'));
    writeFileSync(
      join(mixed, 'image-replacements.txt'),
      readFileSync(join(mixed, 'image-replacements.txt'), 'utf8').replace(
        /^ghcr\.io\/edgelesssys\/contrast\/coordinator:latest=.*\n/m,
        '',
      ),
    );
    await assert.rejects(
      loadRelease(mixed),
      /files of different releases: .*coordinator\.yml has v0\.0\.0-fixture\.2025/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'release-'));
    await assert.rejects(loadRelease(empty), /no runtime-<platform>\.yml/);
    const noLine = copyRelease(R2026);
    writeFileSync(join(noLine, 'reference-values.json'), '{}');
    assert.equal((await loadRelease(noLine)).line, '2026'); // only a 2026 CLI embeds ap-eip.hex
    rmSync(join(noLine, 'ap-eip.hex'));
    await assert.rejects(loadRelease(noLine), /cannot tell which Contrast release line/);
    // A release's own SNP values never tell the line (no APEIP; same names in both lines).
    const noTable = copyRelease(R2025);
    rmSync(join(noTable, 'snp-id-blocks.json'));
    await assert.rejects(loadRelease(noTable), /cannot tell which Contrast release line/);
    // Each runtime file is parsed once, errors first: broken YAML is named as such.
    const broken = copyRelease(R2026);
    writeFileSync(join(broken, 'runtime-metal-qemu-snp.yml'), 'kind: RuntimeClass\nmetadata: {name: [\n');
    await assert.rejects(loadRelease(broken), /runtime-metal-qemu-snp\.yml: invalid YAML/);
    const badEip = copyRelease(R2026);
    writeFileSync(
      join(badEip, 'ap-eip.hex'),
      '# THIS FILE IS REPLACED DURING RELEASE BUILD TO INCLUDE THE OVMF SEVESResetEIP\n',
    );
    await assert.rejects(
      loadRelease(badEip),
      /ap-eip\.hex: expected the SEV-ES AP reset EIP as 8 hex digits/,
    );
  });
});

describe('the CLI needs a release and records it', () => {
  test('generate without a release says what is missing and how to provide it', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'ws-'));
    const r = await runCli(['--workspace-dir', ws, 'generate', join(repoRoot, 'examples')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Contrast release selected/);
    assert.match(
      r.stderr,
      /--contrast-release <dir> with that release's runtime-<platform>\.yml and coordinator\.yml/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack
  });

  test('--version shows the recorded release and where its pins came from', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'ws-'));
    const none = await runCli(['--workspace-dir', ws, '--version']);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /Contrast release: none selected/);
    writeFileSync(
      join(ws, 'contrast-release.json'),
      JSON.stringify({ source: R2026, version: 'v0.0.0-fixture.2026', line: '2026' }),
    );
    const v = await runCli(['--workspace-dir', ws, '--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Contrast release: v0\.0\.0-fixture\.2026 \(2026 line\)/);
    assert.match(v.stdout, new RegExp(`pins from ${R2026.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(v.stdout, /runtime Metal-QEMU-SNP: contrast-cc-metal-qemu-snp-f26a0001/);
  });
});

describe('manifest schema per release line', () => {
  const pem = newWorkloadOwnerKey();
  test('2026: WorkloadOwnerPubKeys (hex PKIX DER), APEIP, every struct field written, no CPUs', async () => {
    // internal/manifest/manifest.go Manifest{Policies, ReferenceValues, WorkloadOwnerPubKeys, SeedshareOwnerPubKeys}
    const r = await loadRelease(R2026);
    const m = emptyManifest(r.referenceValues!.byPlatform.get('Metal-QEMU-SNP')!);
    for (const v of m.ReferenceValues.snp ?? []) v['APEIP'] = r.apEip; // as generate does
    m.WorkloadOwnerPubKeys = [workloadOwnerPubKeyHex(pem)];
    m.Policies = { ['a'.repeat(64)]: { SANs: ['c', '*'], Role: 'coordinator' } };
    const text = serializeManifest(m, '2026');
    const doc = JSON.parse(text);
    assert.deepEqual(Object.keys(doc), [
      'Policies',
      'ReferenceValues',
      'WorkloadOwnerPubKeys',
      'SeedshareOwnerPubKeys',
    ]);
    // Go marshals every field of the struct it decoded the release's file into (Platform "" until
    // generate sets it); APEIP after TrustedMeasurement.
    assert.deepEqual(Object.keys(doc.ReferenceValues.snp[0]).slice(0, 5), [
      'Platform',
      'ProductName',
      'TrustedMeasurement',
      'APEIP',
      'MinimumTCB',
    ]);
    assert.deepEqual(Object.keys(doc.ReferenceValues.snp[0].GuestPolicy), [...SNP_GUEST_POLICY_FIELDS]);
    assert.ok('TIOEnabled' in doc.ReferenceValues.snp[0].PlatformInfo);
    assert.doesNotMatch(text, /"CPUs"/);
    assert.deepEqual(validateManifest(doc, { line: '2026' }), []);
    // The same document is no 2025 manifest: APEIP is unknown there.
    assert.ok(
      validateReferenceValues(doc.ReferenceValues, 'ReferenceValues', { line: '2025' }).some((i) =>
        /APEIP/.test(i.path),
      ),
    );
    // A bad public key is a finding like Go's ParseWorkloadOwnerPublicKey error.
    assert.match(
      validateManifest({ ...doc, WorkloadOwnerPubKeys: ['00'] }, { line: '2026' })
        .map((i) => i.path)
        .join(),
      /WorkloadOwnerPubKeys\[0\]/,
    );
  });

  test('Validate() as Go: empty TrustedMeasurement / MrTd / RTMRs are errors, MinimumTCB and MrSeam expected missing', () => {
    const rv = {
      snp: [{ ProductName: 'Milan', TrustedMeasurement: '', MinimumTCB: {}, GuestPolicy: { SMT: true } }],
      tdx: [{ MrTd: '', MrSeam: '', Rtmrs: ['', '', '', ''], Xfam: 'e702060000000000' }],
    };
    const issues = validateReferenceValues(rv, 'ReferenceValues', { line: '2025', goRules: true });
    const find = (re: RegExp) => issues.find((i) => re.test(i.path));
    assert.equal(find(/snp\[0\]\.TrustedMeasurement$/)?.expectedMissing, false);
    assert.equal(find(/tdx\[0\]\.MrTd$/)?.expectedMissing, false);
    assert.equal(find(/tdx\[0\]\.RTMR\[1\]$/)?.expectedMissing, false); // Go: fmt.Sprintf("RTMR[%d]", i+1)
    assert.equal(find(/MinimumTCB\.BootloaderVersion$/)?.expectedMissing, true);
    assert.equal(find(/tdx\[0\]\.MrSeam$/)?.expectedMissing, true);
  });

  test('Coordinators: exactly one in 2025 (CoordinatorCountError), at least one in 2026 (ErrMissingCoordinator)', () => {
    const m = emptyManifest({});
    m.Policies = {
      ['a'.repeat(64)]: { SANs: null, Role: 'coordinator' },
      ['b'.repeat(64)]: { SANs: null, Role: 'coordinator' },
    };
    assert.match(
      coordinatorIssues(m, '2025')[0]!.message,
      /expected exactly 1 policy with role 'coordinator', got 2/,
    );
    assert.deepEqual(coordinatorIssues(m, '2026'), []);
    m.Policies = {};
    assert.match(
      coordinatorIssues(m, '2026')[0]!.message,
      /expected at least 1 policy with role 'coordinator'/,
    );
  });

  test('an existing manifest: unknown fields are dropped like json.Unmarshal does; any Validate() finding stops', async () => {
    const r = await loadRelease(R2026);
    const m = emptyManifest(r.referenceValues!.byPlatform.get('Metal-QEMU-SNP')!);
    for (const v of m.ReferenceValues.snp ?? []) v['APEIP'] = r.apEip; // as generate does
    m.WorkloadOwnerPubKeys = [];
    m.Policies = { ['a'.repeat(64)]: { SANs: ['c', '*'], Role: 'coordinator' } };
    const doc = { ...JSON.parse(serializeManifest(m, '2026')), Extra: 1 };
    const parsed = parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2026' });
    assert.deepEqual(parsed.ignored, ['Extra']);
    assert.doesNotMatch(serializeManifest(parsed.manifest, '2026'), /Extra/);
    doc.ReferenceValues.snp[0].MinimumTCB.BootloaderVersion = null; // only "expected missing" …
    assert.throws(
      () => parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2026' }),
      /validate existing manifest:\n {2}ReferenceValues\.snp\[0\]\.MinimumTCB\.BootloaderVersion: field cannot be empty/,
    ); // … is still fatal for an existing manifest, as in Go's runGenerate
  });
});

describe('vCPUs and the 2026 verifiers', () => {
  const pod = (resources: string) =>
    findWorkloads([
      parseKubeFile(
        'p.yml',
        `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: contrast-cc\n  containers:\n    - name: a\n      image: r/a@sha256:${'a'.repeat(64)}\n      resources: ${resources}\n`,
      ),
    ])[0]!;
  test('2025 counts max(request, limit); 2026 counts limits only (GetPodCPUCount), both + 1', () => {
    const w = pod('{requests: {cpu: "3"}, limits: {cpu: 1500m}}');
    assert.equal(podVCPUs(w, 'max-request-limit'), 4);
    assert.equal(podVCPUs(w, 'limits'), 3);
    assert.equal(podVCPUs(pod('{requests: {cpu: "2"}}'), 'limits'), 1);
  });
  test('CPUCountValid 1..220 and GPUCountValid vCPUs >= nvidia.com/gpu limits, with Go messages', () => {
    // cli/verifier/gpu_count_valid_test.go: 2 GPUs without CPU limits = 1 vCPU, too few.
    const gpu = pod('{limits: {nvidia.com/gpu: "2"}}');
    assert.equal(podGPUs(gpu), 2);
    const f = verifyCounts(gpu, podVCPUs(gpu, 'limits'), podGPUs(gpu));
    assert.deepEqual(
      f.map((x) => x.rule),
      ['GPUCountValid'],
    );
    assert.match(
      f[0]!.message,
      /require at least as many vCPUs as GPUs, but 1 vCPUs were requested for 2 GPUs/,
    );
    const ok = pod('{limits: {cpu: "2", nvidia.com/gpu: "2"}}');
    assert.deepEqual(verifyCounts(ok, podVCPUs(ok, 'limits'), podGPUs(ok)), []);
    const big = pod('{limits: {cpu: "220"}}');
    assert.equal(verifyCounts(big, podVCPUs(big, 'limits'), 0)[0]?.rule, 'CPUCountValid');
  });
  test('VersionsMatch: Contrast images carry the release version; dev/pre releases are not checked', () => {
    const w = findWorkloads([
      parseKubeFile(
        'c.yml',
        `apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec:\n  runtimeClassName: contrast-cc\n  initContainers:\n    - {name: contrast-initializer, image: "ghcr.io/edgelesssys/contrast/initializer:v1.8.0@sha256:${'a'.repeat(64)}"}\n  containers:\n    - {name: coordinator, image: "ghcr.io/edgelesssys/contrast/coordinator:v1.9.0@sha256:${'b'.repeat(64)}"}\n`,
      ),
    ]);
    // Go (versions_match.go) ranges over spec.Containers only: the init-container Initializer is not checked.
    const f = verifyVersionsMatch(w, 'v1.8.0');
    assert.equal(f.length, 1);
    assert.match(
      f[0]!.message,
      /you are attempting to use Contrast version "v1\.8\.0" with a "coordinator" resource of version "v1\.9\.0"/,
    );
    assert.deepEqual(verifyVersionsMatch(w, 'v1.9.0'), []);
    assert.deepEqual(verifyVersionsMatch(w, 'v1.10.0-pre'), []);
  });
});
