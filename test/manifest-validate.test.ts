// Manifest.Validate() of both Contrast release lines, as our check of an existing manifest models it.
//
// 2026 line. Source: edgelesssys/contrast internal/manifest/manifest.go, the newest version the search store
// holds (the one with `WorkloadOwnerPubKeys`, `ErrMissingCoordinator` and `HasInsecurePlatforms`;
// read via find_string/read_file, store id 56181973605 — the store names no commit for that
// version; the versions it does name by commit, e.g. a2046ed5c50cbca489085c225894842d010c274e and
// 02d873ab2db5a9e048163c970fb41fa065b880fa, are older: `WorkloadOwnerKeyDigests`, "exactly 1"
// Coordinator). Its Validate():
//   1. validates each policy entry (hash, `Role.Validate()`), collecting errors;
//   2. `CoordinatorPolicyHashes()`: no policy with Role "coordinator" → `return err` at once, i.e.
//      ErrMissingCoordinator ("expected at least 1 policy with role 'coordinator'") ALONE: the
//      errors of step 1 are dropped and nothing after it is checked;
//   3. ReferenceValues, the secure/insecure mix, owner keys, seed share keys.
// `Role.Validate()` accepts RoleNone ("") and RoleCoordinator ("coordinator") only; the constant
// RoleNodeInstaller = "contrast-node-installer" is declared next to them but is not accepted there.
// The mix rule (`HasInsecurePlatforms() && HasSecurePlatforms()` → "manifest must not mix secure and
// insecure platforms") rests on `platforms.IsInsecure`, which no stored internal/platforms/platforms.go
// defines (newest stored: 0ccdf5158d0cd860fb2e08276bf085dcbf8d4108, platforms Metal-QEMU-SNP,
// Metal-QEMU-SNP-GPU, Metal-QEMU-TDX only), so which platform is insecure is unknown: not modelled.
//
// 2025 line (`WorkloadOwnerKeyDigests`). Source: edgelesssys/contrast internal/manifest/manifest.go,
// the version with `CoordinatorCountError` and `ExpectedMissingReferenceValueError` (store id
// 4667383194, no commit named; a2046ed5c50cbca489085c225894842d010c274e has the same rule as a plain
// fmt.Errorf with the same text). Its Validate() validates the entries, then counts the policies with
// Role "coordinator" and, if the count is not 1, `return &CoordinatorCountError{Count: coordinatorCount}`
// ALONE (entry errors dropped, reference values and keys not checked), whose Error() is
// `fmt.Sprintf("expected exactly 1 policy with role 'coordinator', got %d", e.Count)`. cli/cmd/generate.go
// of that line runs it on an existing manifest: `return fmt.Errorf("validate existing manifest: %w", err)`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  coordinatorIssues,
  emptyManifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from '../src/contrast/manifest.js';
import { loadRelease } from '../src/release/release.js';
import { fixtureRelease } from './helpers/shared.js';

const R2025 = fixtureRelease('2025');
const R2026 = fixtureRelease('2026');
const COORD = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const MISSING = "expected at least 1 policy with role 'coordinator'";

/** The parts of a manifest document the tests below change. */
interface Doc {
  Policies?: Record<string, { SANs: string[] | null; Role?: string }> | null;
  ReferenceValues: { snp: Record<string, unknown>[] };
  SeedshareOwnerPubKeys?: string[];
}

/** A manifest the 2026 Validate() accepts, as a JSON document. */
async function valid2026(): Promise<Doc> {
  const r = await loadRelease(R2026);
  const m = emptyManifest(r.referenceValues!.byPlatform.get('Metal-QEMU-SNP')!);
  for (const v of m.ReferenceValues.snp ?? []) {
    v['APEIP'] = r.apEip;
    v['Platform'] = 'Metal-QEMU-SNP';
  }
  m.WorkloadOwnerPubKeys = [];
  m.Policies = {
    [COORD]: { SANs: ['c', '*'], Role: 'coordinator' },
    [OTHER]: { SANs: ['w'] },
  };
  return JSON.parse(serializeManifest(m, '2026'));
}

/**
 * With the Coordinator check passed, an unknown role and an empty TrustedMeasurement are both reported
 * (Go returns the Coordinator finding alone only when that check fails).
 */
function assertOtherFindingsReported(doc: Doc, line: '2025' | '2026'): void {
  doc.Policies![OTHER]!.Role = 'worker';
  doc.ReferenceValues.snp[0]!['TrustedMeasurement'] = '';
  const paths = validateManifest(doc, { line }).map((i) => i.path);
  assert.ok(paths.includes(`Policies[${JSON.stringify(OTHER)}].Role`), paths.join());
  assert.ok(
    paths.some((p) => /snp\[0\]\.TrustedMeasurement$/.test(p)),
    paths.join(),
  );
  assert.ok(!paths.includes('Policies'), paths.join());
}

describe('2026 Manifest.Validate(): the Coordinator policy is checked first', () => {
  test('the valid base document passes', async () => {
    assert.deepEqual(validateManifest(await valid2026(), { line: '2026' }), []);
  });

  test('an existing manifest without a Coordinator policy is refused, naming Policies', async () => {
    const doc = await valid2026();
    delete doc.Policies![COORD]!.Role;
    const issues = validateManifest(doc, { line: '2026' });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message, i.expectedMissing]),
      [['Policies', MISSING, false]],
    );
    assert.throws(() => parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2026' }), {
      message: `manifest.json: validate existing manifest:\n  Policies: ${MISSING}`,
    });
  });

  test('no Policies at all (null or absent) is the same finding', async () => {
    for (const policies of [null, undefined, {}]) {
      const doc = await valid2026();
      if (policies === undefined) delete doc.Policies;
      else doc.Policies = policies;
      assert.deepEqual(
        validateManifest(doc, { line: '2026' }).map((i) => `${i.path}: ${i.message}`),
        [`Policies: ${MISSING}`],
        String(policies),
      );
    }
  });

  test('the missing Coordinator is the only finding: Go returns it alone, before everything else', async () => {
    const doc = await valid2026();
    doc.Policies = {
      ['zz'.repeat(32)]: { SANs: [], Role: 'worker' }, // bad hash + unknown role: dropped by Go
    };
    doc.ReferenceValues.snp[0]!['TrustedMeasurement'] = ''; // never reached in Go
    doc.SeedshareOwnerPubKeys = ['00']; // never reached in Go
    assert.deepEqual(
      validateManifest(doc, { line: '2026' }).map((i) => `${i.path}: ${i.message}`),
      [`Policies: ${MISSING}`],
    );
  });

  test('with a Coordinator, the other findings are all reported', async () => {
    assertOtherFindingsReported(await valid2026(), '2026');
  });

  test('more than one Coordinator is fine in 2026 (CoordinatorPolicyHashes returns them all)', async () => {
    const doc = await valid2026();
    doc.Policies![OTHER]!.Role = 'coordinator';
    assert.deepEqual(validateManifest(doc, { line: '2026' }), []);
  });

  test('a generated manifest: coordinatorIssues names Policies too', () => {
    const m = emptyManifest({});
    m.Policies = { [OTHER]: { SANs: null } };
    assert.deepEqual(
      coordinatorIssues(m, '2026').map((i) => `${i.path}: ${i.message}`),
      [`Policies: ${MISSING}`],
    );
  });
});

/** A manifest the 2025 Validate() accepts, as a JSON document. */
async function valid2025(): Promise<Doc> {
  const r = await loadRelease(R2025);
  const m = emptyManifest(r.referenceValues!.byPlatform.get('Metal-QEMU-SNP')!);
  for (const v of m.ReferenceValues.snp ?? []) v['Platform'] = 'Metal-QEMU-SNP';
  m.WorkloadOwnerKeyDigests = [];
  m.Policies = {
    [COORD]: { SANs: ['c', '*'], Role: 'coordinator' },
    [OTHER]: { SANs: ['w'] },
  };
  return JSON.parse(serializeManifest(m, '2025'));
}

describe('2025 Manifest.Validate(): exactly one Coordinator, also in an existing manifest', () => {
  const count = (n: number) => `expected exactly 1 policy with role 'coordinator', got ${n}`;
  const found = (doc: Doc) => validateManifest(doc, { line: '2025' }).map((i) => `${i.path}: ${i.message}`);

  test('the valid base document passes', async () => {
    assert.deepEqual(found(await valid2025()), []);
  });

  test('no Coordinator: CoordinatorCountError, got 0, and generate stops ("validate existing manifest")', async () => {
    const doc = await valid2025();
    delete doc.Policies![COORD]!.Role;
    assert.deepEqual(found(doc), [`Policies: ${count(0)}`]);
    assert.throws(() => parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2025' }), {
      message: `manifest.json: validate existing manifest:\n  Policies: ${count(0)}`,
    });
    for (const policies of [null, undefined, {}]) {
      const d = await valid2025();
      if (policies === undefined) delete d.Policies;
      else d.Policies = policies;
      assert.deepEqual(found(d), [`Policies: ${count(0)}`], String(policies));
    }
  });

  test('two Coordinators: got 2, returned alone before everything else', async () => {
    const doc = await valid2025();
    doc.Policies![OTHER]!.Role = 'coordinator';
    doc.Policies!['zz'.repeat(32)] = { SANs: [], Role: 'worker' }; // bad hash + unknown role: dropped by Go
    doc.ReferenceValues.snp[0]!['TrustedMeasurement'] = ''; // never reached in Go
    doc.SeedshareOwnerPubKeys = ['00']; // never reached in Go
    assert.deepEqual(found(doc), [`Policies: ${count(2)}`]);
    assert.throws(() => parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2025' }), {
      message: `manifest.json: validate existing manifest:\n  Policies: ${count(2)}`,
    });
  });

  test('with exactly one Coordinator, the other findings are all reported', async () => {
    assertOtherFindingsReported(await valid2025(), '2025');
  });
});

describe('2026 Role.Validate(): RoleNodeInstaller is declared, but only "" and "coordinator" pass', () => {
  test('Role "contrast-node-installer" is an unknown role at Policies["<hash>"].Role', async () => {
    const doc = await valid2026();
    doc.Policies![OTHER]!.Role = 'contrast-node-installer';
    const issues = validateManifest(doc, { line: '2026' });
    assert.deepEqual(
      issues.map((i) => i.path),
      [`Policies[${JSON.stringify(OTHER)}].Role`],
    );
    assert.match(issues[0]!.message, /unknown role.*contrast-node-installer/);
  });
});

describe('owner key fields', () => {
  const issues = (doc: unknown, line: '2025' | '2026') =>
    validateManifest(doc, { line }).map((i) => `${i.path}: ${i.message}`);

  test('2026: WorkloadOwnerPubKeys and SeedshareOwnerPubKeys: an array of hex PKIX keys', async () => {
    const doc = { ...(await valid2026()), WorkloadOwnerPubKeys: ['zz', 7], SeedshareOwnerPubKeys: 'x' };
    const found = issues(doc, '2026');
    assert.ok(
      found.some((m) => /^WorkloadOwnerPubKeys\[0\]: invalid workload owner public key: /.test(m)),
      found.join('\n'),
    );
    assert.ok(
      found.includes('WorkloadOwnerPubKeys[1]: invalid workload owner public key: expected a hex string'),
      found.join('\n'),
    );
    assert.ok(found.includes('SeedshareOwnerPubKeys: expected an array, got string'), found.join('\n'));
    assert.ok(!found.some((m) => m.startsWith('WorkloadOwnerKeyDigests')), 'the 2026 line has no digests');
  });

  test('2025: WorkloadOwnerKeyDigests are 64 hex characters; the 2026 field is not read', async () => {
    const doc = {
      ...(await valid2026()),
      WorkloadOwnerKeyDigests: ['ab', 'c'.repeat(64)],
      WorkloadOwnerPubKeys: 'not read',
    };
    const found = issues(doc, '2025');
    assert.ok(
      found.includes(
        'WorkloadOwnerKeyDigests[0]: workload owner key digest must be 64 hex characters (sha256)',
      ),
      found.join('\n'),
    );
    assert.ok(!found.some((m) => m.startsWith('WorkloadOwnerKeyDigests[1]')), found.join('\n'));
    assert.ok(!found.some((m) => m.startsWith('WorkloadOwnerPubKeys')), found.join('\n'));
    const notArray = issues({ ...doc, WorkloadOwnerKeyDigests: {} }, '2025');
    assert.ok(
      notArray.includes('WorkloadOwnerKeyDigests: expected an array, got object'),
      notArray.join('\n'),
    );
  });
});

describe('unknown fields inside a policy entry', () => {
  // Go decodes manifest.json with json.Unmarshal into PolicyEntry{SANs, WorkloadSecretID, Role}
  // (internal/manifest/manifest.go): a field it does not know is dropped, not an error.
  test('with a release line they are dropped and reported as ignored, as Go does', async () => {
    const doc = (await valid2026()) as Doc & { Policies: Record<string, Record<string, unknown>> };
    doc.Policies[OTHER]!['Comment'] = 'added by hand';
    assert.deepEqual(validateManifest(doc, { line: '2026' }), []);
    const r = parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2026' });
    assert.deepEqual(r.ignored, [`Policies[${JSON.stringify(OTHER)}].Comment`]);
    assert.equal(JSON.stringify(r.manifest.Policies).includes('Comment'), false);
  });
  test('without one (no release selected) they stay errors naming the field', async () => {
    const doc = (await valid2026()) as Doc & { Policies: Record<string, Record<string, unknown>> };
    doc.Policies[OTHER]!['Comment'] = 'added by hand';
    assert.deepEqual(
      validateManifest(doc)
        .map((i) => `${i.path}: ${i.message}`)
        .filter((s) => s.includes('Comment')),
      [`Policies[${JSON.stringify(OTHER)}].Comment: unknown field`],
    );
  });
});
