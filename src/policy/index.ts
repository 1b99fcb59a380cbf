// Kata agent policy generation for Kubernetes workloads. See README.md.
import { fileURLToPath } from 'node:url';
import { ContrastError } from '../internal/errors.js';
import type { AnalyzedImage } from '../image/types.js';
import { ConfigObjects, getPodAnnotation, setPodAnnotation, workloadImages } from '../kube/index.js';
import type { KubeFile, Workload } from '../kube/index.js';
import { buildPolicyData } from './data.js';
import { decodeInitdataValueAsync, INITDATA_ANNOTATION } from './initdata.js';
import type { PolicyData } from './data.js';
import { encodeLegacy, finishInitdata, planInitdata, policyText } from './encode.js';
import type { EncodedPolicy, InitdataEntries, InitdataPlan, PolicyEncoding } from './encode.js';
import { applyPins, plannedPins } from './pin.js';
import type { Flavour, PolicyOptions, PolicySettings } from './settings.js';
import { readTextInput } from '../internal/files.js';

export {
  loadPolicySettings,
  applySettingsPatch,
  validateSettings,
  defaultSettingsPath,
  isFlavour,
  FLAVOURS,
} from './settings.js';
export type { Flavour, PolicyOptions, PolicySettings } from './settings.js';
export { buildPolicyData, criImageName, layerNames, pinnedReference, sandboxNameValue } from './data.js';
export type { ContainerPolicy, PolicyData, BuildContext } from './data.js';
export { policyText, encodeLegacy, encodeInitdata } from './encode.js';
export type { PolicyEncoding, EncodedPolicy, InitdataEntries } from './encode.js';
export {
  POLICY_ANNOTATION,
  INITDATA_ANNOTATION,
  INITDATA_POLICY_KEY,
  decodeInitdata,
  decodeInitdataValue,
  encodeInitdataValue,
  initdataDigest,
  initdataToml,
  parseInitdataDocument,
  parseInitdataToml,
  sha256Hex,
  withInitdataEntries,
} from './initdata.js';
export type { Initdata } from './initdata.js';

export interface WorkloadPolicy {
  workload: Workload;
  policyText: string;
  /** policy_data as built (before serialization), for inspection and tests. */
  data: PolicyData;
  annotationKey: string;
  annotationValue: string;
  /** Hex sha256: policy text (legacy encoding) or uncompressed initdata TOML (initdata encoding). */
  hash: string;
  /** The initdata TOML, for the initdata encoding. */
  initdata?: string;
}

export { applyPins, plannedPins } from './pin.js';
export type { ImagePinChange } from './pin.js';

export function defaultRulesPath(): string {
  return fileURLToPath(new URL('./rules.rego', import.meta.url));
}

/** The encoding a flavour uses unless told otherwise: host-pull → legacy annotation, guest-pull → initdata. */
export function defaultEncoding(flavour: Flavour): PolicyEncoding {
  return flavour === 'host-pull' ? 'legacy' : 'initdata';
}

/** Every image the policies need, as written in the YAML, plus the pause image; deduplicated, in first-seen order. */
export function requiredImages(workloads: Workload[], settings: PolicySettings): string[] {
  const out = new Set<string>();
  if (workloads.length > 0) out.add(settings.cluster_config.pause_container_image);
  for (const w of workloads) for (const i of workloadImages(w)) out.add(i);
  return [...out];
}

export async function readRules(options: Pick<PolicyOptions, 'rulesPath'>): Promise<string> {
  const path = options.rulesPath ?? defaultRulesPath();
  try {
    return await readTextInput(path, 'rules file');
  } catch (err) {
    if (err instanceof ContrastError) throw err;
    throw new ContrastError(
      `${path}: cannot read rules: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

/**
 * Generates one policy per workload and sets its annotation on the pod template in memory (the
 * caller writes the files). `files` (plus options.configFiles) supply ConfigMaps and Secrets.
 */
export async function generatePolicies(
  files: KubeFile[],
  workloads: Workload[],
  images: ReadonlyMap<string, AnalyzedImage>,
  settings: PolicySettings,
  options: PolicyOptions & {
    encoding?: PolicyEncoding;
    rules?: string;
    /** Initdata `[data]` entries to set (string) or remove (undefined) besides the policy. */
    initdataEntries?: InitdataEntries;
  },
): Promise<WorkloadPolicy[]> {
  const rules = options.rules ?? (await readRules(options));
  const config = ConfigObjects.from([...files, ...(options.configFiles ?? [])]);
  const encoding = options.encoding ?? defaultEncoding(options.flavour);
  // Every check (and error) first, in workload order; then the gzips, concurrently in zlib's pool.
  const planned: Array<{
    workload: Workload;
    text: string;
    data: PolicyData;
    enc: InitdataPlan | EncodedPolicy;
  }> = [];
  // Existing initdata annotations are gunzipped in zlib's pool while the policies are built; a
  // corrupt one still fails in workload order (awaited below), never as an unhandled rejection.
  const existing = workloads.map((w) => {
    const annotation = encoding === 'legacy' ? undefined : getPodAnnotation(w, INITDATA_ANNOTATION);
    if (annotation === undefined) return undefined;
    const toml = decodeInitdataValueAsync(annotation);
    toml.catch(() => undefined);
    return { annotation, toml };
  });
  for (const [i, workload] of workloads.entries()) {
    const data = buildPolicyData({ workload, settings, flavour: options.flavour, images, config });
    const text = policyText(rules, data);
    const old = existing[i];
    const enc =
      encoding === 'legacy'
        ? encodeLegacy(text)
        : planInitdata(text, old?.annotation, options.initdataEntries, old && (await old.toml));
    planned.push({ workload, text, data, enc });
  }
  const out: WorkloadPolicy[] = await Promise.all(
    planned.map(async ({ workload, text, data, enc }) => ({
      workload,
      policyText: text,
      data,
      ...('annotationKey' in enc ? enc : await finishInitdata(enc)),
    })),
  );
  // Annotate (and, for guest pull, pin unpinned images) only after every workload succeeded: an
  // error leaves the documents untouched.
  if (options.flavour === 'guest-pull') applyPins(plannedPins(workloads, images));
  for (const p of out) setPodAnnotation(p.workload, p.annotationKey, p.annotationValue);
  return out;
}
