// SEV-SNP launch digest for N vCPUs, derived from the 1-vCPU digest (the "seed") the way Contrast's
// 2026 CLI does it (edgelesssys/contrast internal/snp/guest.go ExtendSNPLaunchDigest, commit
// bb01d44c2730193713ad36a1b1f5b74bdc4b80d2 and later): the firmware measures one VMSA page per vCPU
// last, so the digest for N vCPUs is the 1-vCPU digest extended by N-1 identical AP VMSA pages.
//
// Facts used (written from the specs, not copied code):
// - PAGE_INFO hash update, AMD SEV-SNP ABI spec 56860 §8.17.2 Table 67: new digest =
//   SHA-384(current digest ‖ SHA-384(page) ‖ length u16 = 0x70 ‖ page type u8 ‖ IMI u8 ‖
//   VMPL3/2/1 permissions u8 each ‖ reserved u8 ‖ GPA u64), all little-endian; VMSA pages have type 2
//   and are measured at GPA 0xFFFFFFFFF000.
// - The VMSA save area (AMD APM vol. 2 Table B-4) QEMU sets up at reset, as sev-snp-measure
//   (virtee/sev-snp-measure sevsnpmeasure/vmsa.py) models it for VMM type QEMU; an AP starts at the
//   firmware's SEV-ES AP reset vector (the release's APEIP), rdx holds the vCPU's CPUID signature.
import { createHash } from 'node:crypto';

export const LAUNCH_DIGEST_SIZE = 48;
const PAGE_SIZE = 4096;
const VMSA_GPA = 0xfffffffff000n;
const PAGE_TYPE_VMSA = 0x02;
const PAGE_INFO_SIZE = 0x70;
/** SEV_FEATURES of the VMSA; Contrast measures with 0x1 (SNPActive) only. */
const SEV_FEATURES = 0x1n;
/** Highest vCPU count ExtendSNPLaunchDigest accepts (math.MaxUint16). */
export const MAX_VCPUS = 0xffff;

function sha384(data: Uint8Array): Buffer {
  return createHash('sha384').update(data).digest();
}

/**
 * CPUID Fn0000_0001_EAX signature (AMD CPUID spec #25481): extended family above 0xf, extended model
 * in bits 16-19, family 8-11, model 4-7, stepping 0-3.
 */
export function cpuSig(family: number, model: number, stepping: number): number {
  const [familyLow, familyHigh] = family > 0xf ? [0xf, (family - 0xf) & 0xff] : [family, 0];
  return (
    ((familyHigh << 20) |
      (((model >> 4) & 0xf) << 16) |
      (familyLow << 8) |
      ((model & 0xf) << 4) |
      (stepping & 0xf)) >>>
    0
  );
}

/**
 * Product line → vCPU signature Contrast measures with (internal/snp/vcpu_types.go CPUSigForProduct:
 * Milan → EPYC-Milan = (25, 1, 1), Genoa → EPYC-Genoa = (25, 17, 0)).
 */
export const PRODUCT_CPU_SIG: Readonly<Record<string, number>> = {
  Milan: cpuSig(25, 1, 1),
  Genoa: cpuSig(25, 17, 0),
};

/** A 16-byte VMCB segment: selector u16, attributes u16, limit u32, base u64. */
function segment(
  page: Buffer,
  off: number,
  selector: number,
  attrib: number,
  limit: number,
  base: bigint,
): void {
  page.writeUInt16LE(selector, off);
  page.writeUInt16LE(attrib, off + 2);
  page.writeUInt32LE(limit, off + 4);
  page.writeBigUInt64LE(base, off + 8);
}

/** The VMSA page QEMU hands to the firmware for a vCPU starting at `eip` (4096 bytes). */
export function vmsaPage(eip: number, vcpuSig: number, sevFeatures: bigint = SEV_FEATURES): Buffer {
  const page = Buffer.alloc(PAGE_SIZE);
  const e = BigInt(eip >>> 0);
  segment(page, 0x000, 0, 0x93, 0xffff, 0n); // es
  segment(page, 0x010, 0xf000, 0x9b, 0xffff, e & 0xffff0000n); // cs: base = upper half of the reset EIP
  segment(page, 0x020, 0, 0x93, 0xffff, 0n); // ss
  segment(page, 0x030, 0, 0x93, 0xffff, 0n); // ds
  segment(page, 0x040, 0, 0x93, 0xffff, 0n); // fs
  segment(page, 0x050, 0, 0x93, 0xffff, 0n); // gs
  segment(page, 0x060, 0, 0, 0xffff, 0n); // gdtr
  segment(page, 0x070, 0, 0x82, 0xffff, 0n); // ldtr
  segment(page, 0x080, 0, 0, 0xffff, 0n); // idtr
  segment(page, 0x090, 0, 0x8b, 0xffff, 0n); // tr
  page.writeBigUInt64LE(0x1000n, 0x0d0); // efer: SVME, as KVM sets it
  page.writeBigUInt64LE(0x40n, 0x148); // cr4: MCE
  page.writeBigUInt64LE(0x10n, 0x158); // cr0: ET
  page.writeBigUInt64LE(0x400n, 0x160); // dr7
  page.writeBigUInt64LE(0xffff0ff0n, 0x168); // dr6
  page.writeBigUInt64LE(0x2n, 0x170); // rflags
  page.writeBigUInt64LE(e & 0xffffn, 0x178); // rip: lower half of the reset EIP
  page.writeBigUInt64LE(0x7040600070406n, 0x268); // g_pat: the PAT reset value (APM vol. 2 §A.3)
  page.writeBigUInt64LE(BigInt(vcpuSig >>> 0), 0x310); // rdx: CPUID signature at reset
  page.writeBigUInt64LE(sevFeatures, 0x3b0); // sev_features
  page.writeBigUInt64LE(0x1n, 0x3e8); // xcr0
  page.writeUInt32LE(0x1f80, 0x408); // mxcsr
  page.writeUInt16LE(0x37f, 0x410); // x87 fcw
  return page;
}

/** One PAGE_INFO hash update for a VMSA page. */
function extendWithVmsa(digest: Buffer, pageHash: Buffer): Buffer {
  const info = Buffer.alloc(PAGE_INFO_SIZE);
  digest.copy(info, 0);
  pageHash.copy(info, LAUNCH_DIGEST_SIZE);
  info.writeUInt16LE(PAGE_INFO_SIZE, 96);
  info[98] = PAGE_TYPE_VMSA; // IMI, VMPL permissions and reserved stay 0
  info.writeBigUInt64LE(VMSA_GPA, 104);
  return sha384(info);
}

/**
 * The launch digest for `vcpus` vCPUs from the 1-vCPU digest `seed`: append vcpus-1 AP VMSA pages,
 * each starting at `apEip` with the product's `vcpuSig`.
 */
export function extendLaunchDigest(seed: Uint8Array, vcpus: number, apEip: number, vcpuSig: number): Buffer {
  if (seed.length !== LAUNCH_DIGEST_SIZE)
    throw new RangeError(`launch digest must be ${LAUNCH_DIGEST_SIZE} bytes, got ${seed.length}`);
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS)
    throw new RangeError(`invalid target vCPU count: ${vcpus}`);
  let digest: Buffer = Buffer.from(seed);
  const apHash = sha384(vmsaPage(apEip, vcpuSig));
  for (let i = 1; i < vcpus; i++) digest = extendWithVmsa(digest, apHash);
  return digest;
}
