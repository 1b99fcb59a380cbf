// The shapes of the files a real Contrast release ships, and what the Go CLI makes of them.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { emptyManifest, parseManifest, serializeManifest } from '../src/contrast/manifest.js';
import {
  importReferenceValues,
  SNP_PLATFORM_INFO_FIELDS,
  validateReferenceValues,
} from '../src/contrast/referencevalues.js';
import { foldManifest } from '../src/contrast/gojson.js';

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'release-shapes-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/**
 * A reference-values.json with the keys a release build writes: edgelesssys/contrast
 * packages/by-name/contrast/reference-values/package.nix at 0357b18604c359d8a289d1cb7d7639b42ea5192b
 * (builtins.toJSON of camelCase Nix attributes, keys sorted, one line): snp entries {guestPolicy
 * (snpGuestPolicyQEMU.json: ABIMinor, ABIMajor, SMT, MigrateMA, Debug, SingleSocket), platformInfo
 * {SMTEnabled}, productName, trustedMeasurement}; tdx entries {memoryIntegrity, mrTd, rtmrs, xfam}.
 * Handlers and values are our own.
 */
const GUEST_POLICY_QEMU = {
  ABIMajor: 0,
  ABIMinor: 0,
  Debug: false,
  MigrateMA: false,
  SMT: true,
  SingleSocket: false,
};
const REAL_SHAPE = JSON.stringify({
  'contrast-cc-metal-qemu-snp-0a1b2c3d': {
    snp: ['Milan', 'Genoa'].map((p, i) => ({
      guestPolicy: GUEST_POLICY_QEMU,
      platformInfo: { SMTEnabled: true },
      productName: p,
      trustedMeasurement: String(i + 1).repeat(96),
    })),
  },
  'contrast-cc-metal-qemu-tdx-0a1b2c3d': {
    tdx: [
      {
        memoryIntegrity: false,
        mrTd: 'a'.repeat(96),
        rtmrs: ['b', 'c', 'd', 'e'].map((x) => x.repeat(96)),
        xfam: 'e702060000000000',
      },
    ],
  },
});

describe("a release's embedded reference-values.json", () => {
  test('camelCase keys decode into the Go fields (encoding/json matches names case-insensitively)', async () => {
    const rv = await importReferenceValues(tmpFile('reference-values.json', REAL_SHAPE));
    // No APEIP in the file: the line is told by ap-eip.hex, not by PlatformInfo names.
    assert.equal(rv.line, '2025');
    assert.equal(rv.handlers.get('Metal-QEMU-SNP'), 'contrast-cc-metal-qemu-snp-0a1b2c3d');
    const snp = rv.byPlatform.get('Metal-QEMU-SNP')!.snp!;
    assert.deepEqual(
      snp.map((s) => [s['ProductName'], s['TrustedMeasurement']]),
      [
        ['Milan', '1'.repeat(96)],
        ['Genoa', '2'.repeat(96)],
      ],
    );
    const tdx = rv.byPlatform.get('Metal-QEMU-TDX')!.tdx![0]!;
    assert.equal(tdx['MrTd'], 'a'.repeat(96));
    assert.equal((tdx['Rtmrs'] as string[])[3], 'e'.repeat(96));
    assert.equal(tdx['Xfam'], 'e702060000000000');
  });

  test('fields the file does not name are written with their Go zero values, like json.MarshalIndent does', async () => {
    const rv = await importReferenceValues(tmpFile('reference-values.json', REAL_SHAPE));
    const m = emptyManifest(rv.byPlatform.get('Metal-QEMU-SNP')!);
    const doc = JSON.parse(serializeManifest(m, '2025'));
    const s = doc.ReferenceValues.snp[0];
    assert.deepEqual(s.MinimumTCB, {
      BootloaderVersion: null,
      TEEVersion: null,
      SNPVersion: null,
      MicrocodeVersion: null,
    });
    assert.deepEqual(s.GuestPolicy, {
      ...GUEST_POLICY_QEMU,
      CXLAllowed: false,
      MemAES256XTS: false,
      RAPLDis: false,
      CipherTextHidingDRAM: false,
      PageSwapDisable: false,
      // Go field order, not the file's sorted order.
      ...{ ABIMinor: 0, ABIMajor: 0 },
    });
    assert.deepEqual(Object.keys(s.GuestPolicy).slice(0, 3), ['ABIMinor', 'ABIMajor', 'SMT']);
    assert.deepEqual(s.PlatformInfo, {
      SMTEnabled: true,
      TSMEEnabled: false,
      ECCEnabled: false,
      RAPLDisabled: false,
      CiphertextHidingDRAMEnabled: false,
      AliasCheckComplete: false,
      TIOEnabled: false,
    });
    assert.equal(s.AllowedChipIDs, null);
    assert.equal(s.MinimumMitigationVector, 0);
    // MinimumTCB is what the user fills in: Go's "expected missing", nothing else.
    const issues = validateReferenceValues(doc.ReferenceValues, 'ReferenceValues', {
      line: '2025',
      goRules: true,
    });
    assert.ok(issues.length > 0 && issues.every((i) => i.expectedMissing && /MinimumTCB/.test(i.path)));
  });

  test('a key that matches no field is refused, as GetEmbeddedReferenceValues (DisallowUnknownFields) does', async () => {
    const bad = REAL_SHAPE.replace('"trustedMeasurement"', '"trustedMeasurment"');
    await assert.rejects(
      importReferenceValues(tmpFile('reference-values.json', bad)),
      /snp\[0\]\.trustedMeasurment: unknown field/,
    );
  });
});

describe('PlatformInfo names per release line', () => {
  test('both lines: CiphertextHidingDRAMEnabled and TIOEnabled (go-sev-guest never had CiphertextHidingEnabled)', () => {
    // google/go-sev-guest abi.SnpPlatformInfo: d30defa (v0.13.0) adds ECCEnabled, RAPLDisabled,
    // CiphertextHidingDRAMEnabled, AliasCheckComplete; edgelesssys/go-sev-guest 97601b6 (2025-08-11)
    // adds TIOEnabled. Contrast's pre-APEIP manifests name all seven (sdk/verify_test.go at 0258343e).
    const seven = [
      'SMTEnabled',
      'TSMEEnabled',
      'ECCEnabled',
      'RAPLDisabled',
      'CiphertextHidingDRAMEnabled',
      'AliasCheckComplete',
      'TIOEnabled',
    ];
    assert.deepEqual([...SNP_PLATFORM_INFO_FIELDS], seven);
    const entry = (pi: Record<string, boolean>) => ({
      snp: [
        {
          ProductName: 'Milan',
          TrustedMeasurement: 'ab'.repeat(48),
          GuestPolicy: { SMT: true },
          PlatformInfo: pi,
        },
      ],
    });
    const strict = { strict: true, line: '2025' as const };
    assert.ok(
      validateReferenceValues(entry({ CiphertextHidingEnabled: false }), 'rv', strict).some(
        (i) => i.path === 'rv.snp[0].PlatformInfo.CiphertextHidingEnabled' && /unknown field/.test(i.message),
      ),
    );
    assert.ok(
      !validateReferenceValues(
        entry({ CiphertextHidingDRAMEnabled: false, TIOEnabled: false }),
        'rv',
        strict,
      ).some((i) => /PlatformInfo/.test(i.path)),
    );
  });

  test('TIOEnabled without APEIP is a 2025-line file: only APEIP marks the 2026 schema', async () => {
    const text = JSON.stringify({
      snp: [
        {
          ProductName: 'Genoa',
          TrustedMeasurement: 'cd'.repeat(48),
          GuestPolicy: { SMT: true },
          PlatformInfo: { SMTEnabled: true, TIOEnabled: false, CiphertextHidingDRAMEnabled: false },
        },
      ],
    });
    assert.equal((await importReferenceValues(tmpFile('rv.json', text))).line, '2025');
    const withApeip = text.replace('"ProductName"', '"APEIP":"0080b004","ProductName"');
    assert.equal((await importReferenceValues(tmpFile('rv.json', withApeip))).line, '2026');
  });
});

describe('an existing manifest as Go reads it', () => {
  test('json.Unmarshal matches field names case-insensitively: lower-case keys are the same fields', () => {
    const doc = {
      // the 2025 Validate() wants exactly one Coordinator (test/manifest-validate.test.ts)
      policies: { ['c'.repeat(64)]: { sans: ['c'], role: 'coordinator' } },
      referenceValues: {
        TDX: [
          {
            platform: 'Metal-QEMU-TDX',
            mrtd: 'a'.repeat(96),
            mrSeam: 'f'.repeat(96),
            RTMRS: ['b', 'c', 'd', 'e'].map((x) => x.repeat(96)),
            xfam: 'e702060000000000',
          },
        ],
      },
      workloadOwnerKeyDigests: [],
      seedshareOwnerPubKeys: [],
    };
    assert.deepEqual(Object.keys(foldManifest(doc) as object), [
      'Policies',
      'ReferenceValues',
      'WorkloadOwnerKeyDigests',
      'SeedshareOwnerPubKeys',
    ]);
    const { manifest, ignored } = parseManifest(JSON.stringify(doc), 'manifest.json', { line: '2025' });
    assert.deepEqual(ignored, []);
    assert.equal(manifest.ReferenceValues.tdx?.[0]?.['MrTd'], 'a'.repeat(96));
    // A PolicyEntry's fields fold too (sans → SANs, role → Role); policy hashes are map keys, never folded.
    assert.deepEqual(manifest.Policies, { ['c'.repeat(64)]: { SANs: ['c'], Role: 'coordinator' } });
    const withPolicy = { ...doc, policies: { ['AB'.repeat(32)]: { SANs: ['x'] } } };
    assert.ok(Object.hasOwn((foldManifest(withPolicy) as { Policies: object }).Policies, 'AB'.repeat(32)));
  });
});
