// Known answers for the 2026 SNP ID-block computation. Sources:
// - virtee/sev-snp-measure at 8f2b337e38bc83f87cd30f3253cdfe8e3e12cc3a, tests/test_guest.py
//   test_snp_with_multiple_vcpus_feature_snp_only: SNP, 4 vCPUs, EPYC-v4, tests/fixtures/
//   ovmf_AmdSev_suffix.bin, kernel/initrd /dev/null, empty cmdline, guest features 0x1 →
//   5061fffb…046ad5. The same call with 1 vCPU gives the seed ddc52245…852819b5, and that firmware's
//   SEV-ES AP reset EIP is 0x80b004 (both obtained by running sev-snp-measure at that commit on its own
//   fixture: guest.calc_launch_digest(…, 1, …) and OVMF(…).sev_es_reset_eip()).
// - tests/test_vcpu_types.py (same repository): cpu_sig(23, 1, 2) = 0x800f12, cpu_sig(14, 1, 2) = 0xe12.
// - edgelesssys/contrast internal/idblock/idblock_test.go (150ff4058bc7db799ca944beb14d265d410bab09):
//   LD copied, VERSION 1, ID_KEY_ALGO 1, AUTH_KEY_ALGO 0, ID key curve 2; TestRecoverPublicKey: two
//   keys, each verifying the signature.
// - google/go-sev-guest abi/abi.go (42a7117354c6ba0f7a5fa7725b69e746b8b9fc23) SnpPolicyToBytes.
import assert from 'node:assert/strict';
import { createECDH, createPublicKey, generateKeyPairSync, sign, verify, createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { cpuSig, extendLaunchDigest, PRODUCT_CPU_SIG, vmsaPage } from './measure.js';
import {
  guestPolicyBits,
  ID_AUTH_SIZE,
  ID_BLOCK_SIZE,
  idBlocksFromLaunchDigest,
  idKeyRecoveries,
  recoverPublicKeys,
} from './idblock.js';
import fc from 'fast-check';
import { B, bigIntToBytes, bytesToBigInt, G, linearCombination, N, P } from './p384.js';
import { linearCombinationJacobian, multiply } from '../../test/helpers/p384-reference.js';
import {
  SNP_GUEST_POLICY_ANNOTATION,
  SNP_ID_AUTH_ANNOTATION,
  SNP_ID_BLOCK_ANNOTATION,
  snpIdBlockAnnotations,
} from './annotations.js';

const SEED_1 =
  'ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5';
const EXPECTED_4 =
  '5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5';
const AP_EIP = 0x80b004;

function jwk(x: bigint, y: bigint): { kty: string; crv: string; x: string; y: string } {
  return {
    kty: 'EC',
    crv: 'P-384',
    x: bigIntToBytes(x, 48).toString('base64url'),
    y: bigIntToBytes(y, 48).toString('base64url'),
  };
}

/** ECDSA verification by Node (OpenSSL), independent of our curve code. */
function nodeVerifies(key: { x: bigint; y: bigint }, message: Buffer, r: bigint, s: bigint): boolean {
  const pub = createPublicKey({ key: jwk(key.x, key.y), format: 'jwk' });
  const sig = Buffer.concat([bigIntToBytes(r, 48), bigIntToBytes(s, 48)]);
  return verify('sha384', message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
}

describe('SNP launch digest', () => {
  test('CPUID signatures (sev-snp-measure test_vcpu_types.py; Contrast vcpu_types.go products)', () => {
    assert.equal(cpuSig(23, 1, 2), 0x800f12);
    assert.equal(cpuSig(14, 1, 2), 0x0e12);
    assert.equal(PRODUCT_CPU_SIG['Milan'], cpuSig(25, 1, 1));
    assert.equal(PRODUCT_CPU_SIG['Milan'], 0xa00f11);
    assert.equal(PRODUCT_CPU_SIG['Genoa'], 0xa10f10);
  });

  test('1-vCPU seed extended to 4 vCPUs equals sev-snp-measure’s 4-vCPU digest', () => {
    const got = extendLaunchDigest(Buffer.from(SEED_1, 'hex'), 4, AP_EIP, cpuSig(23, 1, 2));
    assert.equal(got.toString('hex'), EXPECTED_4);
  });

  test('1 vCPU is the seed itself; counts outside 1..65535 and short seeds are refused', () => {
    const seed = Buffer.from(SEED_1, 'hex');
    assert.equal(extendLaunchDigest(seed, 1, AP_EIP, 0).toString('hex'), SEED_1);
    assert.throws(() => extendLaunchDigest(seed, 0, AP_EIP, 0), /invalid target vCPU count: 0/);
    assert.throws(() => extendLaunchDigest(seed, 65536, AP_EIP, 0), /invalid target vCPU count/);
    assert.throws(() => extendLaunchDigest(seed.subarray(1), 2, AP_EIP, 0), /48 bytes/);
  });

  test('each further vCPU extends the previous digest (the order Contrast’s verifier iterates in)', () => {
    const seed = Buffer.from(SEED_1, 'hex');
    const sig = PRODUCT_CPU_SIG['Genoa']!;
    const two = extendLaunchDigest(seed, 2, AP_EIP, sig);
    assert.deepEqual(extendLaunchDigest(two, 2, AP_EIP, sig), extendLaunchDigest(seed, 3, AP_EIP, sig));
    assert.notDeepEqual(two, extendLaunchDigest(seed, 2, AP_EIP, PRODUCT_CPU_SIG['Milan']!));
  });

  test('VMSA page: reset vector split into CS base and RIP, signature in RDX', () => {
    const page = vmsaPage(AP_EIP, 0x800f12);
    assert.equal(page.length, 4096);
    assert.equal(page.readBigUInt64LE(0x018), 0x800000n); // cs.base
    assert.equal(page.readBigUInt64LE(0x178), 0xb004n); // rip
    assert.equal(page.readBigUInt64LE(0x310), 0x800f12n); // rdx
    assert.equal(page.readBigUInt64LE(0x3b0), 1n); // sev_features
  });
});

describe('P-384 arithmetic', () => {
  test('generator and order agree with Node’s curve', () => {
    assert.equal(P.toString(16).length, 96);
    for (const k of [2n, 3n, 0xdeadbeefn, N - 1n]) {
      const ours = multiply(k, G)!;
      const ecdh = createECDH('secp384r1');
      ecdh.setPrivateKey(bigIntToBytes(k, 48));
      const node = ecdh.getPublicKey();
      assert.equal(ours.x, bytesToBigInt(node.subarray(1, 49)), `x of ${k}·G`);
      assert.equal(ours.y, bytesToBigInt(node.subarray(49, 97)), `y of ${k}·G`);
    }
    assert.equal(multiply(N, G), undefined); // N·G is the point at infinity
    assert.equal(B.toString(16).slice(0, 8), 'b3312fa7'); // the published P-384 b
  });

  test('recovery finds the signer’s key among two candidates, both verifying (TestRecoverPublicKey)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const message = Buffer.from('message');
    const sig = sign('sha384', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const r = bytesToBigInt(sig.subarray(0, 48));
    const s = bytesToBigInt(sig.subarray(48));
    const z = bytesToBigInt(createHash('sha384').update(message).digest());
    const keys = recoverPublicKeys(r, s, z);
    assert.equal(keys.length, 2);
    for (const k of keys) assert.ok(nodeVerifies(k, message, r, s));
    const own = publicKey.export({ format: 'jwk' });
    assert.ok(keys.some((k) => bigIntToBytes(k.x, 48).toString('base64url') === own.x));
    assert.ok(keys[0]!.x < keys[1]!.x || (keys[0]!.x === keys[1]!.x && keys[0]!.y < keys[1]!.y));
  });
});

describe('P-384 a·G + b·q with native scalar multiplication (issue 15)', () => {
  const same = (a: bigint, b: bigint, q: { x: bigint; y: bigint }) =>
    assert.deepEqual(linearCombination(a, b, q), linearCombinationJacobian(a, b, q), `a=${a} b=${b}`);
  test('equals the BigInt computation (property)', () => {
    const scalar = fc.bigInt({ min: 0n, max: N - 1n });
    fc.assert(
      fc.property(scalar, scalar, fc.bigInt({ min: 1n, max: N - 1n }), (a, b, k) =>
        same(a, b, multiply(k, G)!),
      ),
      { numRuns: 12 },
    );
  });
  test('edges: zero scalars, b = 1 and N − 1, doubling, and a sum at infinity', () => {
    const q = multiply(0xc0ffeen, G)!;
    for (const [a, b] of [
      [0n, 0n],
      [0n, 5n],
      [5n, 0n],
      [0n, 1n],
      [0n, N - 1n],
      [7n, N - 1n],
      [0xc0ffeen, 1n], // a·G = q: doubling
      [N - 0xc0ffeen, 1n], // a·G = −q: infinity
    ] as const)
      same(a, b, q);
    assert.equal(linearCombination(N - 0xc0ffeen, 1n, q), undefined);
  });
});

describe('ID block and ID authentication', () => {
  const digest = Buffer.from(Array.from({ length: 48 }, (_, i) => i + 1)); // idblock_test.go's 0x01…0x30

  test('guest policy bits (abi.SnpPolicyToBytes)', () => {
    assert.equal(guestPolicyBits({}), 1n << 17n);
    assert.equal(guestPolicyBits({ ABIMinor: 0, ABIMajor: 0, SMT: true }), 0x30000n);
    assert.equal(
      guestPolicyBits({
        ABIMinor: 0x1f,
        ABIMajor: 1,
        SMT: true,
        MigrateMA: true,
        Debug: true,
        SingleSocket: true,
        CXLAllowed: true,
        MemAES256XTS: true,
        RAPLDis: true,
        CipherTextHidingDRAM: true,
        PageSwapDisable: true,
      }),
      0x3ff011fn,
    );
    assert.throws(() => guestPolicyBits({ SMT: 'yes' }), /GuestPolicy\.SMT: expected true or false/);
    assert.throws(() => guestPolicyBits({ ABIMajor: 256 }), /GuestPolicy\.ABIMajor/);
  });

  test('layout as idblock.go writes it', () => {
    const { idBlock, idAuth, idKey } = idBlocksFromLaunchDigest(digest, 0x30000n);
    assert.equal(idBlock.length, ID_BLOCK_SIZE);
    assert.equal(idAuth.length, ID_AUTH_SIZE);
    assert.deepEqual(idBlock.subarray(0, 48), digest);
    assert.equal(idBlock[0x30], 1); // FamilyID {0x1}
    assert.equal(idBlock[0x40], 2); // ImageID {0x2}
    assert.equal(idBlock.readUInt32LE(0x50), 1); // Version
    assert.equal(idBlock.readUInt32LE(0x54), 2); // GuestSVN
    assert.equal(idBlock.readBigUInt64LE(0x58), 0x30000n);
    assert.equal(idAuth.readUInt32LE(0x00), 1); // IDKeyAlgo
    assert.equal(idAuth.readUInt32LE(0x04), 0); // AuthKeyAlgo
    assert.equal(idAuth[0x40], 2); // r = 2, little-endian
    assert.equal(idAuth[0x88], 1); // s = 1
    assert.equal(idAuth.readUInt32LE(0x240), 2); // curve P-384
    assert.deepEqual(Buffer.from(idAuth.subarray(0x244, 0x244 + 72)).reverse(), bigIntToBytes(idKey.x, 72));
    assert.deepEqual(Buffer.from(idAuth.subarray(0x28c, 0x28c + 72)).reverse(), bigIntToBytes(idKey.y, 72));
    const zeroOutside = [...idAuth.subarray(0x8, 0x40), ...idAuth.subarray(0x2d4)].every((b) => b === 0);
    assert.ok(zeroOutside, 'reserved fields, ID key signature and author key are zero');
  });

  test('each launch digest and policy is recovered once per process; callers get their own copies', () => {
    const fresh = Buffer.from(digest);
    fresh[0] = fresh[0]! ^ 0x5a; // not used by any other test in this file
    const before = idKeyRecoveries.count;
    const a = idBlocksFromLaunchDigest(fresh, 0x30000n);
    a.idAuth.fill(0);
    const b = idBlocksFromLaunchDigest(fresh, 0x30000n);
    assert.equal(idKeyRecoveries.count, before + 1);
    assert.ok(nodeVerifies(b.idKey, b.idBlock, 2n, 1n));
    assert.equal(
      b.idAuth.readUInt32LE(0x240),
      2,
      'a caller mutating its result does not change the next one',
    );
    idBlocksFromLaunchDigest(fresh, 0x20000n);
    assert.equal(idKeyRecoveries.count, before + 2, 'another policy is another key');
  });

  test('the fixed signature r=2, s=1 verifies under the ID key (checked by Node)', () => {
    for (const policy of [0x30000n, 0x20000n]) {
      const { idBlock, idKey } = idBlocksFromLaunchDigest(digest, policy);
      assert.ok(nodeVerifies(idKey, idBlock, 2n, 1n));
    }
  });
});

describe('annotations', () => {
  const rv = (product: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    Platform: 'Metal-QEMU-SNP',
    ProductName: product,
    TrustedMeasurement: SEED_1,
    APEIP: '0080b004',
    GuestPolicy: { ABIMinor: 0, ABIMajor: 0, SMT: true },
    ...extra,
  });

  test('three annotations per product line, Genoa and Milan', () => {
    const { annotations, problems } = snpIdBlockAnnotations([rv('Milan'), rv('Genoa')], 'Metal-QEMU-SNP', 3);
    assert.deepEqual(problems, []);
    for (const product of ['Genoa', 'Milan']) {
      const block = Buffer.from(annotations[SNP_ID_BLOCK_ANNOTATION + product]!, 'base64');
      assert.equal(block.length, 96);
      const expected = extendLaunchDigest(Buffer.from(SEED_1, 'hex'), 3, AP_EIP, PRODUCT_CPU_SIG[product]!);
      assert.deepEqual(block.subarray(0, 48), expected);
      assert.equal(Buffer.from(annotations[SNP_ID_AUTH_ANNOTATION + product]!, 'base64').length, 4096);
      assert.equal(annotations[SNP_GUEST_POLICY_ANNOTATION + product], '196608');
    }
    assert.equal(Object.keys(annotations).length, 6);
    assert.equal(SNP_ID_BLOCK_ANNOTATION + 'Milan', 'io.katacontainers.config.hypervisor.snp_id_block_Milan');
  });

  test('a product line without values or APEIP is reported, the other still computed', () => {
    const { annotations, problems } = snpIdBlockAnnotations(
      [rv('Milan', { APEIP: '' }), rv('Genoa'), rv('Genoa', { Platform: 'Metal-QEMU-SNP-GPU' })],
      'Metal-QEMU-SNP',
      1,
    );
    assert.deepEqual(problems, [
      'no SNP reference values with APEIP for product "Milan" on platform "Metal-QEMU-SNP"',
    ]);
    assert.deepEqual(Object.keys(annotations).sort(), [
      SNP_GUEST_POLICY_ANNOTATION + 'Genoa',
      SNP_ID_AUTH_ANNOTATION + 'Genoa',
      SNP_ID_BLOCK_ANNOTATION + 'Genoa',
    ]);
    const none = snpIdBlockAnnotations([], 'Metal-QEMU-SNP', 1);
    assert.equal(none.problems.length, 2);
    assert.match(
      none.problems[0]!,
      /no SNP reference values with product "Genoa" found in manifest for platform "Metal-QEMU-SNP"/,
    );
  });
});
