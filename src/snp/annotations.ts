// The SNP ID-block annotations of a pod, as the 2026 Contrast CLI writes them (edgelesssys/contrast
// cli/cmd/generate.go patchIDBlockAnnotation + computeAndAnnotateIDBlockAnnotations, commit
// 07b05e7ac7532980faf76be4ddf347da7145a17e): per product line (Genoa, then Milan) the launch digest
// for the pod's vCPU count is derived from that product's 1-vCPU TrustedMeasurement and the APEIP in
// the manifest's SNP reference values of the pod's platform, and the ID block, ID authentication and
// guest policy go into three Kata hypervisor annotations. Kata only accepts them because Contrast's
// node installer enables exactly these names (nodeinstaller/internal/kataconfig/config.go:
// enable_annotations "snp_id_block_Milan", "snp_id_auth_Milan", "snp_guest_policy_Milan", … _Genoa).
import { extendLaunchDigest, LAUNCH_DIGEST_SIZE, PRODUCT_CPU_SIG } from './measure.js';
import { guestPolicyBits, idBlocksFromLaunchDigest } from './idblock.js';

// cli/cmd/generate.go (07b05e7a…): kataAnnotationPrefix = "io.katacontainers.config.hypervisor.",
// idBlockAnnotation = prefix + "snp_id_block_", idAuthAnnotationKey = prefix + "snp_id_auth_",
// guestPolicyAnnotationKey = prefix + "snp_guest_policy_"; the product name is appended.
export const SNP_ID_BLOCK_ANNOTATION = 'io.katacontainers.config.hypervisor.snp_id_block_';
export const SNP_ID_AUTH_ANNOTATION = 'io.katacontainers.config.hypervisor.snp_id_auth_';
export const SNP_GUEST_POLICY_ANNOTATION = 'io.katacontainers.config.hypervisor.snp_guest_policy_';
/** Go: products := []string{string(manifest.Genoa), string(manifest.Milan)}. */
export const SNP_PRODUCTS = ['Genoa', 'Milan'] as const;

export type SnpReferenceValue = Record<string, unknown>;

function hexBytes(value: unknown, length: number, what: string): Buffer {
  if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(value))
    throw new Error(`${what}: not a hex string`);
  const b = Buffer.from(value, 'hex');
  if (b.length !== length) throw new Error(`${what}: expected ${length} bytes, got ${b.length}`);
  return b;
}

/** The three annotations for one product line, or an error message saying what is missing. */
function forProduct(
  refVals: readonly SnpReferenceValue[],
  platform: string,
  product: string,
  vcpus: number,
): Record<string, string> {
  const rv = refVals.find((v) => v['Platform'] === platform && v['ProductName'] === product);
  if (!rv)
    throw new Error(
      `no SNP reference values with product "${product}" found in manifest for platform "${platform}"`,
    );
  const policyObj = rv['GuestPolicy'];
  if (!policyObj || typeof policyObj !== 'object' || Array.isArray(policyObj))
    throw new Error(`${product} reference values for platform "${platform}" have no GuestPolicy`);
  if (typeof rv['APEIP'] !== 'string' || rv['APEIP'] === '')
    throw new Error(`no SNP reference values with APEIP for product "${product}" on platform "${platform}"`);
  const seed = hexBytes(rv['TrustedMeasurement'], LAUNCH_DIGEST_SIZE, `decode ${product} TrustedMeasurement`);
  const apEip = hexBytes(rv['APEIP'], 4, 'decode APEIP').readUInt32BE(0);
  const sig = PRODUCT_CPU_SIG[product];
  if (sig === undefined) throw new Error(`unknown SNP product name "${product}"`);
  const policy = guestPolicyBits(policyObj as Record<string, unknown>, `${product} GuestPolicy`);
  const digest = extendLaunchDigest(seed, vcpus, apEip, sig);
  const { idBlock, idAuth } = idBlocksFromLaunchDigest(digest, policy);
  return {
    [SNP_ID_BLOCK_ANNOTATION + product]: idBlock.toString('base64'),
    [SNP_ID_AUTH_ANNOTATION + product]: idAuth.toString('base64'),
    [SNP_GUEST_POLICY_ANNOTATION + product]: policy.toString(10),
  };
}

export interface IdBlockAnnotations {
  annotations: Record<string, string>;
  /** Why a product line got none (Go joins these and fails only when no product line worked). */
  problems: string[];
}

/**
 * Annotations for a pod on `platform` (the manifest's `Platform` marker, e.g. "Metal-QEMU-SNP") with
 * `vcpus` vCPUs. `annotations` is empty when no product line could be computed.
 */
export function snpIdBlockAnnotations(
  refVals: readonly SnpReferenceValue[],
  platform: string,
  vcpus: number,
): IdBlockAnnotations {
  const annotations: Record<string, string> = {};
  const problems: string[] = [];
  for (const product of SNP_PRODUCTS) {
    try {
      Object.assign(annotations, forProduct(refVals, platform, product, vcpus));
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { annotations, problems };
}
