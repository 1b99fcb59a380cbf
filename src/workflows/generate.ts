// The `contrast generate` pipeline (contrast-generate.md §2), in Contrast's order. Everything happens
// in memory; only when every step succeeded are the manifest, the YAML files and new key files
// written, together (temp file + rename each), so a failure leaves every file byte-identical.
import { existsSync } from 'node:fs';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { removeStaleTempFilesFor, writeFilesAtomic, type AtomicHooks } from '../internal/atomic.js';
import { readTextInput, STDIO_PATH } from '../internal/files.js';
import { log } from '../internal/log.js';
import { readKubeFiles, RUNTIME_CLASS_PREFIX, serializeKubeFile, setPodAnnotation } from '../kube/index.js';
import type { KubeFile, Workload } from '../kube/index.js';
import {
  containers,
  describe,
  ignoredObjectAnnotations,
  runtimeClassName,
  workloadAnnotations,
} from '../kube/pod.js';
import {
  ANNOTATION,
  injectDebugShell,
  injectImageStore,
  injectInitializer,
  injectServiceMesh,
  isCoordinator,
  workloadRole,
} from '../contrast/injections.js';
import {
  applyImageReplacements,
  parseImageReplacements,
  readImageReplacements,
  type ImageReplacements,
} from '../contrast/replacements.js';
import { patchRuntimeClass, workloadPlatform } from '../contrast/runtime.js';
import { verifyAfter, verifyBefore } from '../contrast/verify.js';
import { podGPUs, podVCPUs, VCPUS_ANNOTATION } from '../contrast/vcpus.js';
import { gpuPlatformFor } from '../contrast/gpu.js';
import { snpIdBlockAnnotations } from '../snp/annotations.js';
import { verifyCounts, throwFindings, type Finding } from '../contrast/verify.js';
import { lineInfo } from '../release/lines.js';
import { releaseHandler, type Release } from '../release/release.js';
import { needsPin, pinContrastImages } from '../contrast/pin-images.js';
import {
  defaultRulesPath,
  defaultSettingsPath,
  generatePolicies,
  INITDATA_ANNOTATION,
  loadPolicySettings,
  POLICY_ANNOTATION,
  requiredImages,
  type Flavour,
  type PolicyOptions,
} from '../policy/index.js';
import { warmLayerWorkers } from '../image/index.js';
import { RegistryClient } from '../registry/index.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import type { Platform } from '../registry/types.js';
import { INSECURE_DEBUG_KEY } from '../contrast/initdata.js';
import {
  addSorted,
  newSeedshareOwnerKey,
  newWorkloadOwnerKey,
  seedshareOwnerPubKeyHex,
  workloadOwnerKeyDigest,
  workloadOwnerPubKeyHex,
} from '../contrast/keys.js';
import {
  coordinatorIssues,
  emptyManifest,
  readManifestFile,
  serializeManifest,
  type Manifest,
  type PolicyEntry,
} from '../contrast/manifest.js';
import {
  parseRuntimeClass,
  platformByName,
  runtimeHandler,
  UNKNOWN_HANDLER,
  type PlatformInfo,
} from '../contrast/platforms.js';
import {
  importedFor,
  importReferenceValues,
  mergeReferenceValues,
  placeholderReferenceValues,
  validateReferenceValues,
  type ImportedReferenceValues,
  type ReferenceValues,
} from '../contrast/referencevalues.js';
import {
  applyReferenceValuePatches,
  purgeEmptyReferenceValues,
  readReferenceValuePatches,
} from '../contrast/patches.js';
import { formatIssue } from '../contrast/validation.js';
import { openImageClient, startImageResolution, type ImageResolution } from './resolve-images.js';
import { findConfidentialWorkloads } from './targets.js';
import type { StaleEntry } from '../review/check.js';

export interface GenerateOptions {
  paths: string[];
  /** -p: Rego rules; the built-in rules are used when the file does not exist. */
  policyPath: string;
  /** -s: genpolicy settings; the built-in settings are used when the file does not exist. */
  settingsPath: string;
  /** -c: layer cache file. */
  cachePath: string;
  manifestPath: string;
  /** --reference-values: platform for `contrast-cc` classes and new manifests. */
  referenceValues?: string;
  referenceValuesFile?: string;
  referenceValuePatches?: string[];
  purgeEmptyReferenceValues?: boolean;
  workloadOwnerKeys: string[];
  /** -w given explicitly (conflicts with --disable-updates). */
  workloadOwnerKeysExplicit?: boolean;
  seedshareOwnerKeys: string[];
  disableUpdates?: boolean;
  imageReplacements?: string;
  skipInitializer?: boolean;
  skipServiceMesh?: boolean;
  injectImageStore?: boolean;
  insecureEnableDebugShellAccess?: boolean;
  output?: string;
  /** Registry flags (--authfile, --ca-file, --insecure-registry, --registries-conf, --platform …). */
  registry?: RegistryFlags;
  concurrency?: number;
  progress?: 'auto' | 'tty' | 'plain' | 'off';
  /** Success lines (`✔️ …`), printed once the outputs are written; stdout in the CLI (stderr when YAML goes to stdout). */
  print?: (line: string) => void;
  /**
   * Run everything in memory and write nothing (no YAML, manifest, keys, rules/settings or layer
   * cache); `stale` in the result lists every output that differs from the disk.
   */
  check?: boolean;
  /**
   * The Contrast release to generate for (src/release): its runtime handlers, image pins, reference
   * values, SNP ID blocks and release line (manifest schema, vCPU formula, verifiers). The CLI always
   * passes one; without it the library keeps its release-less behaviour (placeholders, warnings).
   */
  release?: Release;
  /** Test hooks into the final write (to kill the process at a chosen point). */
  writeHooks?: AtomicHooks;
}

export interface GenerateResult {
  manifest: Manifest;
  manifestText: string;
  /** Paths written (YAML, manifest, keys). */
  written: string[];
  warnings: string[];
  /** Per CC workload: description and manifest digest. */
  policies: Array<{ workload: string; hash: string; platform: string }>;
  /** YAML meant for stdout (`-o -`, or `-` as input); the caller writes it. */
  stdout?: string;
  /** With `check`: outputs that differ from the disk (empty = up to date). */
  stale?: StaleEntry[];
}

/** The embedded release replacements: a placeholder outside a Contrast release, so empty. */
const EMBEDDED_IMAGE_REPLACEMENTS = '';

interface Staged {
  path: string;
  data: string;
  mode?: number;
}

async function validateOutput(output: string | undefined): Promise<void> {
  if (!output || output === STDIO_PATH) return;
  let st;
  try {
    st = await stat(dirname(output));
  } catch {
    throw new ContrastError(`--output ${output}: directory ${dirname(output)} does not exist`, {
      code: 'BAD_OUTPUT',
    });
  }
  if (!st.isDirectory())
    throw new ContrastError(`--output ${output}: ${dirname(output)} is not a directory`, {
      code: 'BAD_OUTPUT',
    });
  if (existsSync(output) && (await stat(output)).isDirectory()) {
    throw new ContrastError(`--output ${output}: is a directory; give a file path`, { code: 'BAD_OUTPUT' });
  }
}

function coordinatorNamespace(workloads: Workload[]): string {
  const c = workloads.find((w) => w.kind === 'StatefulSet' && isCoordinator(w));
  return c?.namespace ?? 'default';
}

/** Platforms named by runtime classes, plus the --reference-values one. */
function platformsInUse(workloads: Workload[], defaultPlatform: PlatformInfo | undefined): PlatformInfo[] {
  const out = new Map<string, PlatformInfo>();
  if (defaultPlatform) out.set(defaultPlatform.name, defaultPlatform);
  for (const w of workloads) {
    const p = workloadPlatform(w, defaultPlatform);
    if (p) out.set(p.name, p);
  }
  return [...out.values()];
}

/**
 * Re-running with another --reference-values on YAML generated for a different platform must not
 * give a silent mix (a class and policy for one platform, a manifest for another): a workload that
 * already carries a generated policy and names another platform in its class is an error.
 */
function refuseMixedPlatforms(workloads: Workload[], defaultPlatform: PlatformInfo | undefined): void {
  if (!defaultPlatform) return;
  for (const w of workloads) {
    const rc = runtimeClassName(w);
    const named = rc ? parseRuntimeClass(rc)?.platform : undefined;
    if (!named || named.name === defaultPlatform.name) continue;
    const a = workloadAnnotations(w);
    if (a[INITDATA_ANNOTATION] === undefined && a[POLICY_ANNOTATION] === undefined) continue;
    throw new ContrastError(
      `${describe(w)}: generated for ${named.name} (runtimeClassName "${rc}"), but --reference-values is ${defaultPlatform.name}`,
      {
        code: 'PLATFORM_MISMATCH',
        hint: `to re-target it, set runtimeClassName: contrast-cc (or contrast-cc-${defaultPlatform.slug}) and run again; to keep ${named.name}, drop --reference-values`,
      },
    );
  }
}

function explicitHashes(workloads: Workload[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of workloads) {
    const rc = runtimeClassName(w);
    const parsed = rc ? parseRuntimeClass(rc) : undefined;
    if (parsed?.hash && !out.has(parsed.platform.name)) out.set(parsed.platform.name, parsed.hash);
  }
  return out;
}

async function buildManifest(
  opts: GenerateOptions,
  platforms: PlatformInfo[],
  imported: ImportedReferenceValues | undefined,
  warnings: string[],
): Promise<{ manifest: Manifest; originalText: string | undefined }> {
  const release = opts.release;
  const existing = await readManifestFile(opts.manifestPath, release ? { line: release.line } : {});
  if (existing?.ignored.length)
    warnings.push(
      `${opts.manifestPath}: ${existing.ignored.join(', ')} ignored: not a field of the Contrast ${release?.line ?? ''} manifest (Go drops unknown fields too)`,
    );
  if (release && !existing) {
    // A new manifest gets the release's reference values (manifest.Default), each marked with its platform.
    const source = imported ?? release.referenceValues;
    const parts = platforms.map((p) => {
      const v = source && importedFor(source, p);
      if (!v)
        throw new ContrastError(
          `Contrast ${release.version} (${release.source}) has no reference values for ${p.name}`,
          {
            code: 'NO_REFERENCE_VALUES',
            hint: "add the release's reference-values.json (the Go CLI embeds it: internal/manifest/assets/reference-values.json) to the release directory, or pass --reference-values-file",
          },
        );
      return {
        ...(v.snp ? { snp: v.snp.map((x) => ({ ...x, Platform: p.name })) } : {}),
        ...(v.tdx ? { tdx: v.tdx.map((x) => ({ ...x, Platform: p.name })) } : {}),
      };
    });
    let rv = mergeReferenceValues(parts);
    if (opts.referenceValuePatches?.length)
      rv = applyReferenceValuePatches(rv, await readReferenceValuePatches(opts.referenceValuePatches));
    if (opts.purgeEmptyReferenceValues) rv = purgeEmptyReferenceValues(rv);
    const m = emptyManifest(rv);
    if (release.line === '2026') {
      m.WorkloadOwnerPubKeys = [];
      m.WorkloadOwnerKeyDigests = null;
    }
    return { manifest: m, originalText: undefined };
  }
  const valuesFor = (p: PlatformInfo): ReferenceValues =>
    (imported && importedFor(imported, p)) ?? placeholderReferenceValues(p);
  if (existing) {
    const m = existing.manifest;
    if (imported) {
      const parts = platforms.map((p) => {
        const v = importedFor(imported, p);
        if (!v) warnings.push(`--reference-values-file has no values for ${p.name}; kept the manifest's`);
        return v;
      });
      if (parts.every((x) => x !== undefined)) m.ReferenceValues = mergeReferenceValues(parts);
    }
    return { manifest: m, originalText: existing.text };
  }
  if (platforms.length === 0) {
    throw new ContrastError('no platform known for a new manifest', {
      code: 'NO_PLATFORM',
      hint: 'pass --reference-values <platform> or use runtime classes contrast-cc-<platform>-<hash>',
    });
  }
  let rv = mergeReferenceValues(platforms.map(valuesFor));
  if (opts.referenceValuePatches?.length)
    rv = applyReferenceValuePatches(rv, await readReferenceValuePatches(opts.referenceValuePatches));
  if (opts.purgeEmptyReferenceValues) rv = purgeEmptyReferenceValues(rv);
  return { manifest: emptyManifest(rv), originalText: undefined };
}

function defaultWorkloadSecretID(w: Workload): string {
  const apiVersion = String(w.doc.getIn([...w.resourcePath, 'apiVersion']) ?? 'v1');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  return `${group}/${version}/${w.kind}/${w.namespace}/${w.name}`;
}

async function readKey(path: string, generated: Map<string, string>): Promise<string> {
  const g = generated.get(path);
  if (g !== undefined) return g;
  try {
    return await readTextInput(path, 'key file');
  } catch (err) {
    if (err instanceof ContrastError && err.code !== 'READ') throw err;
    const cause = err instanceof ContrastError ? err.cause : err;
    throw new ContrastError(`reading key ${path}: ${errorMessage(cause)}`, { code: 'BAD_KEY' });
  }
}

/** The single `-o` file: every kept file's documents, each file starting with `---`. */
function combinedOutput(kept: KubeFile[]): string {
  return kept
    .map((f) => {
      const text = serializeKubeFile(f);
      const part = text.startsWith('---') ? text : `---\n${text}`;
      return part.endsWith('\n') ? part : `${part}\n`;
    })
    .join('');
}

/** What every stage of one run shares: the options, the release, and how to report. */
interface Run {
  opts: GenerateOptions;
  release: Release | undefined;
  line: ReturnType<typeof lineInfo> | undefined;
  /** Success lines, printed once everything is written. */
  print: (line: string) => void;
  warn: (message: string) => void;
  warnings: string[];
  phase: (name: string) => void;
}

/** The inputs of a run: every YAML file read, its confidential workloads and the files holding them. */
interface Targets {
  files: KubeFile[];
  workloads: Workload[];
  /** The files with at least one workload: what is written back. */
  kept: KubeFile[];
}

/** Platform per workload and the platforms in use (in the manifest's order). */
interface PlatformPlan {
  defaultPlatform: PlatformInfo | undefined;
  platformFor: (w: Workload) => PlatformInfo | undefined;
  /** Pods switched to their TEE's GPU runtime. */
  gpuPlatform: Map<Workload, PlatformInfo>;
  platforms: PlatformInfo[];
}

/** The manifest as it will be written (policies still to fill in) and the text on disk, if any. */
interface ManifestPlan {
  manifest: Manifest;
  originalText: string | undefined;
  imported: ImportedReferenceValues | undefined;
}

interface GeneratedPolicies {
  policies: GenerateResult['policies'];
  hashOf: Map<Workload, string>;
  flavours: Flavour[];
}

interface SeedKey {
  path: string | undefined;
  key: Promise<string> | undefined;
}

/** Stage 0: flag combinations and the output path, before anything is read. */
async function checkOptions(opts: GenerateOptions): Promise<void> {
  if (opts.disableUpdates && opts.workloadOwnerKeysExplicit) {
    throw new ContrastError('--add-workload-owner-key conflicts with --disable-updates', {
      code: 'BAD_FLAGS',
    });
  }
  await validateOutput(opts.output);
}

/**
 * With no layer cache every layer will be analysed: a layer worker starts now, on the core the YAML
 * reading leaves idle, instead of at the first registry request, where the main thread, the registry
 * and V8's compiler threads already share both cores (cold `generate`, 20 pairs twice: 0.735 → 0.70 s
 * and 0.705 → 0.66 s; CPU −55 and −40 ms).
 */
export function startLayerWorkersEarly(cachePath: string): void {
  if (!cachePath || !existsSync(cachePath)) warmLayerWorkers(false, true);
}

/** RSA-4096 generation takes seconds: started first so it overlaps with image analysis. */
function startSeedKey(opts: GenerateOptions): SeedKey {
  const path =
    !opts.check && opts.seedshareOwnerKeys.length === 1 && !existsSync(opts.seedshareOwnerKeys[0]!)
      ? opts.seedshareOwnerKeys[0]!
      : undefined;
  const key = path ? newSeedshareOwnerKey() : undefined;
  key?.catch(() => undefined);
  return { path, key };
}

/** Stage 1: read the YAML (and remove temp files an earlier, killed run left). */
export async function readInputs(paths: string[], manifestPath: string): Promise<KubeFile[]> {
  const files = await readKubeFiles(paths);
  // Temp files of an earlier, killed run (ours by name, their process gone) go first.
  await removeStaleTempFilesFor([...files.map((f) => f.path), manifestPath]);
  if (files.length === 0) throw new ContrastError('no .yml/.yaml files found', { code: 'NO_FILES' });
  return files;
}

/** Stage 2: the confidential workloads (runtime class `contrast-cc…`). */
export function findTargets(files: KubeFile[], warn: (m: string) => void): Targets {
  const workloads = findConfidentialWorkloads(files, RUNTIME_CLASS_PREFIX, warn);
  if (workloads.length === 0) {
    throw new ContrastError(`no .yml/.yaml files with '${RUNTIME_CLASS_PREFIX}' runtime found`, {
      code: 'NO_TARGETS',
    });
  }
  const kept: KubeFile[] = files.filter((f) => workloads.some((w) => w.file === f));
  return { files, workloads, kept };
}

/** Stage 2b: what Contrast would ignore or refuse in the workloads, before anything changes. */
export function checkTargets(
  workloads: Workload[],
  warn: (m: string) => void,
  options: { haveDefaultPlatform: boolean },
): void {
  for (const w of workloads) {
    const ignored = ignoredObjectAnnotations(w);
    if (ignored.length)
      warn(
        `${describe(w)}: ${ignored.join(', ')} on the ${w.kind}'s own metadata has no effect: Contrast reads its annotations from the pod template (spec.template.metadata.annotations)`,
      );
  }
  verifyBefore(workloads, options);
}

/** Stage 3: which platform each workload runs on (GPU pods on their TEE's GPU runtime). */
export function planPlatforms(
  workloads: Workload[],
  defaultPlatform: PlatformInfo | undefined,
  release: Release | undefined,
): PlatformPlan {
  // GPU pods with the generic runtime class run under the GPU runtime of their TEE (src/contrast/gpu.ts).
  const gpuPlatform = new Map<Workload, PlatformInfo>();
  if (release) {
    for (const w of workloads) {
      const gpu = gpuPlatformFor(w, defaultPlatform);
      if (!gpu) continue;
      releaseHandler(release, gpu); // the release must ship it
      gpuPlatform.set(w, gpu);
    }
  }
  const platformFor = (w: Workload): PlatformInfo | undefined =>
    gpuPlatform.get(w) ?? workloadPlatform(w, defaultPlatform);
  if (release)
    for (const w of workloads) {
      const p = platformFor(w);
      if (p) releaseHandler(release, p);
    }
  const platforms = [
    ...new Map(
      workloads.flatMap((w) => {
        const p = platformFor(w);
        return p ? [[p.name, p] as const] : [];
      }),
    ).values(),
  ];
  if (!release) platforms.splice(0, platforms.length, ...platformsInUse(workloads, defaultPlatform));
  else if (defaultPlatform && !platforms.some((p) => p.name === defaultPlatform.name)) {
    releaseHandler(release, defaultPlatform);
    platforms.unshift(defaultPlatform);
  }
  refuseMixedPlatforms(workloads, defaultPlatform);
  return { defaultPlatform, platformFor, gpuPlatform, platforms };
}

/** Stage 4: the existing manifest (validated) or a new one with the release's reference values. */
async function prepareManifest(run: Run, platforms: PlatformInfo[]): Promise<ManifestPlan> {
  const { opts, release, line, warn, warnings } = run;
  const imported = opts.referenceValuesFile
    ? await importReferenceValues(opts.referenceValuesFile)
    : undefined;
  const before = warnings.length;
  const { manifest, originalText } = await buildManifest(opts, platforms, imported, warnings);
  for (const m of warnings.slice(before)) log.warn(m);
  if (originalText !== undefined) {
    for (const p of platforms) {
      if ((manifest.ReferenceValues[p.referenceValues] ?? []).length === 0) {
        throw new ContrastError(
          `${opts.manifestPath} has no ${p.referenceValues} reference values, but workloads run on ${p.name}`,
          {
            code: 'PLATFORM_MISMATCH',
            hint: `the manifest was made for another platform: move it away to start a new one for ${p.name}, or import values with --reference-values-file`,
          },
        );
      }
    }
  }
  if (line?.idBlocks === 'computed') {
    // 2026 (cli/cmd/generate.go runGenerate): the AP reset EIP the CLI embeds goes into every SNP
    // reference value of the manifest, new or existing, so launch digests can be derived per vCPU count.
    if (release!.apEip) for (const v of manifest.ReferenceValues.snp ?? []) v['APEIP'] = release!.apEip;
    else
      warn(
        `AP EIP not available; falling back to pre-computed launch digests: ${release!.source} has no ap-eip.hex (the Go CLI of a 2026 release embeds it as cli/cmd/assets/ap-eip.hex), so SNP ID blocks use the APEIP already in the manifest`,
      );
  }
  return { manifest, originalText, imported };
}

/**
 * Stage 5: Contrast's injections, in Go's order: debug shell → Initializer → service mesh → image
 * store → replacements. Everything that decides which images the workloads use; returns each
 * workload's platform. Go's remaining patches follow in stage 8, once the image requests are out.
 */
async function injectContainers(
  run: Run,
  workloads: Workload[],
  plan: PlatformPlan,
): Promise<Map<Workload, PlatformInfo>> {
  const { opts, release } = run;
  const replacements: ImageReplacements = new Map(release?.imageReplacements ?? []);
  // The user's file wins over the release's pins (Go: --image-replacements replaces the embedded file).
  for (const [k, v] of opts.imageReplacements
    ? await readImageReplacements(opts.imageReplacements)
    : parseImageReplacements(EMBEDDED_IMAGE_REPLACEMENTS, 'embedded image replacements'))
    replacements.set(k, v);
  const coordNs = coordinatorNamespace(workloads);
  const platformOf = new Map<Workload, PlatformInfo>();
  for (const w of workloads) {
    const p = plan.platformFor(w);
    if (!p)
      throw new ContrastError(
        `${describe(w)}: no platform for runtime class "${runtimeClassName(w) ?? ''}"`,
        { code: 'NO_PLATFORM' },
      );
    platformOf.set(w, p);
    if (opts.insecureEnableDebugShellAccess) injectDebugShell(w);
    if (!opts.skipInitializer) injectInitializer(w, { coordinatorNamespace: coordNs });
    if (!opts.skipServiceMesh) injectServiceMesh(w);
    if (opts.injectImageStore) injectImageStore(w);
    applyImageReplacements(w, replacements);
  }
  return platformOf;
}

/**
 * Stage 8: the rest of Go's patch order for every workload, after its injections (stage 5): runtime
 * class → SNP vCPUs and ID blocks. Touches no image, so it runs while the registry answers stage 7's
 * requests: it yields to the event loop after each workload for their responses to be handled.
 */
async function patchPlatforms(
  run: Run,
  workloads: Workload[],
  plan: PlatformPlan,
  manifest: ManifestPlan,
  platformOf: Map<Workload, PlatformInfo>,
): Promise<void> {
  const { release, line, warn } = run;
  const { defaultPlatform, gpuPlatform } = plan;
  // Runtime handlers: the release's (from the imported file), else the hash the YAML names.
  const hashes = explicitHashes(workloads);
  const unknownHash = new Set<string>();
  const handlerFor = (p: PlatformInfo): string => {
    if (release) return releaseHandler(release, p);
    const h = manifest.imported?.handlers.get(p.name);
    if (h) return h;
    const hash = hashes.get(p.name);
    if (!hash) unknownHash.add(p.name);
    return runtimeHandler(p, hash ?? '');
  };
  const defaultHandler = defaultPlatform ? handlerFor(defaultPlatform) : UNKNOWN_HANDLER;
  const countFindings: Finding[] = [];
  const idBlockProblems: string[] = [];
  for (const w of workloads) {
    await yieldToIo();
    const p = platformOf.get(w)!;
    if (gpuPlatform.has(w)) w.doc.setIn([...w.templatePath, 'spec', 'runtimeClassName'], handlerFor(p));
    else patchRuntimeClass(w, { defaultHandler, handlerFor });
    if (!line) {
      // Release-less: the 2025 formula, no ID blocks.
      if (p.referenceValues === 'snp') setPodAnnotation(w, VCPUS_ANNOTATION, String(podVCPUs(w)));
      continue;
    }
    const vcpus = podVCPUs(w, line.vcpus);
    if (line.countVerifiers) countFindings.push(...verifyCounts(w, vcpus, podGPUs(w)));
    if (p.referenceValues !== 'snp') continue;
    // SNP (§4.5): the VM's vCPU count is part of the launch measurement, so it is fixed here, after the
    // injections (their containers count) and before policy generation (pod annotations flow into each
    // container's policy annotations, so the policy covers it).
    if (line.idBlocks === 'table') {
      setPodAnnotation(w, VCPUS_ANNOTATION, String(vcpus));
      setIdBlockFromTable(w, p, vcpus, release!, idBlockProblems);
    } else {
      setComputedIdBlocks(w, p, vcpus, manifest.manifest.ReferenceValues.snp ?? [], idBlockProblems);
    }
  }
  throwFindings(countFindings, 'verifying workloads');
  if (idBlockProblems.length) throw new ContrastError(idBlockProblems.join('\n'), { code: 'SNP_ID_BLOCK' });
  for (const name of unknownHash) {
    warn(
      `runtime handler hash for ${name} unknown: runtime classes name only the platform (contrast-cc-${name.toLowerCase()}); ` +
        'pass --reference-values-file with the release reference-values.json, or write contrast-cc-<platform>-<hash> in the YAML',
    );
  }
}

/** Stage 6: every Contrast image pinned, by the release or resolved now (with a warning). */
async function pinImages(
  workloads: Workload[],
  release: Release | undefined,
  client: RegistryClient,
  platform: Platform | undefined,
): Promise<void> {
  if (release) {
    const unpinned: string[] = [];
    for (const w of workloads)
      for (const c of containers(w)) {
        const image = c.node.get('image');
        if (typeof image === 'string' && needsPin(c.name, image))
          unpinned.push(`${describe(w)} container "${c.name}": ${image}`);
      }
    if (unpinned.length)
      throw new ContrastError(
        `Contrast ${release.version} (${release.source}) pins no image for:\n  ${unpinned.join('\n  ')}`,
        {
          code: 'UNPINNED_IMAGE',
          hint: "add the release's image-replacements.txt (the Go CLI of that release lists the images in `contrast --version`) to the release directory, or map these images with --image-replacements",
        },
      );
  }
  // Contrast's own images (Initializer, mesh, Coordinator) not pinned by a replacement: pin them now.
  const pinned = await pinContrastImages(workloads, client, platform);
  for (const p of pinned)
    log.warn(
      `pinned ${p.from} to ${p.to.slice(p.from.length + 1)} (resolved now; pin it in --image-replacements for reproducible output)`,
    );
}

/** The rules (-p) and settings (-s) of one flavour; the built-in ones when the files do not exist. */
function policyOptions(opts: GenerateOptions, flavour: Flavour): PolicyOptions {
  return {
    flavour,
    ...(existsSync(opts.policyPath) ? { rulesPath: opts.policyPath } : {}),
    ...(existsSync(opts.settingsPath) ? { settingsPath: opts.settingsPath } : {}),
  };
}

/** What stage 9 needs besides the workloads: settings per flavour and the images being resolved. */
interface PolicyInputs {
  flavours: Flavour[];
  settingsByFlavour: Map<Flavour, Awaited<ReturnType<typeof loadPolicySettings>>>;
  refs: string[];
  images: ImageResolution;
}

/**
 * Stage 7: settings per flavour, then every image once across all workloads, its manifest and
 * config requested now (stage 8 runs meanwhile; layers follow in stage 9).
 */
async function startImages(
  run: Run,
  targets: Targets,
  platformOf: Map<Workload, PlatformInfo>,
  client: RegistryClient,
  platform: Platform | undefined,
): Promise<PolicyInputs> {
  const { opts } = run;
  const { workloads } = targets;
  const flavours = [...new Set(workloads.map((w) => platformOf.get(w)!.flavour))];
  if (!existsSync(opts.policyPath)) log.debug(`${opts.policyPath} not found: using the built-in rules`);
  if (!existsSync(opts.settingsPath))
    log.debug(`${opts.settingsPath} not found: using the built-in settings`);
  const settingsByFlavour = new Map<Flavour, Awaited<ReturnType<typeof loadPolicySettings>>>();
  for (const f of flavours) settingsByFlavour.set(f, await loadPolicySettings(policyOptions(opts, f)));
  const refs = [
    ...new Set(
      flavours.flatMap((f) =>
        requiredImages(
          workloads.filter((w) => platformOf.get(w)!.flavour === f),
          settingsByFlavour.get(f)!,
        ),
      ),
    ),
  ];
  const images = startImageResolution(client, refs, workloads, {
    cachePath: opts.cachePath,
    check: opts.check === true,
    verity: flavours.includes('host-pull'),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    progress: opts.progress ?? 'auto',
    ...(platform ? { platform } : {}),
  });
  return { flavours, settingsByFlavour, refs, images };
}

/**
 * Stage 9: every image analysed (layers), then one policy per workload in its platform's flavour,
 * set as its annotation (initdata carries the debug flag).
 */
async function generateWorkloadPolicies(
  run: Run,
  targets: Targets,
  platformOf: Map<Workload, PlatformInfo>,
  inputs: PolicyInputs,
): Promise<GeneratedPolicies> {
  const { opts } = run;
  const { files, workloads } = targets;
  const { flavours, settingsByFlavour, refs } = inputs;
  const images = await inputs.images.analyze();
  run.phase(`${refs.length} images analysed`);
  const policies: GenerateResult['policies'] = [];
  const hashOf = new Map<Workload, string>();
  for (const f of flavours) {
    const group = workloads.filter((w) => platformOf.get(w)!.flavour === f);
    const generated = await generatePolicies(files, group, images, settingsByFlavour.get(f)!, {
      ...policyOptions(opts, f),
      // Initdata carries the debug entry following this run's flag (an earlier run's entry is
      // removed); the other entries of an existing annotation are carried over by the encoder.
      initdataEntries: {
        [INSECURE_DEBUG_KEY]: opts.insecureEnableDebugShellAccess === true ? 'true' : undefined,
      },
    });
    for (const wp of generated) {
      // wp.hash is the digest the TEE measures (sha256 of the policy text or of the initdata TOML we
      // wrote with algorithm sha256), what policyHash() would decode the annotation back to.
      hashOf.set(wp.workload, wp.hash);
      policies.push({
        workload: describe(wp.workload),
        hash: wp.hash,
        platform: platformOf.get(wp.workload)!.name,
      });
    }
  }
  return { policies, hashOf, flavours };
}

/**
 * Stage 10: the manifest's Policies map (policies.go): equal digest + equal SANs is an error,
 * different SANs drop the later. Returns the owner (first workload) of each hash.
 */
export function policyEntries(
  workloads: Workload[],
  hashOf: Map<Workload, string>,
  warn: (m: string) => void,
): { map: Record<string, PolicyEntry>; owner: Map<string, Workload> } {
  const map: Record<string, PolicyEntry> = {};
  const owner = new Map<string, Workload>();
  for (const w of workloads) {
    const hash = hashOf.get(w);
    if (!hash) throw new ContrastError(`${describe(w)}: no policy was generated`, { code: 'NO_POLICY' });
    const a = workloadAnnotations(w);
    const role = workloadRole(w);
    if (role !== '' && role !== 'coordinator') {
      throw new ContrastError(
        `${describe(w)}: annotation ${ANNOTATION.role}="${role}" must be "" or "coordinator"`,
        { code: 'BAD_ROLE' },
      );
    }
    const entry: PolicyEntry = {
      SANs: [w.name, '*'],
      WorkloadSecretID: a[ANNOTATION.workloadSecretID] || defaultWorkloadSecretID(w),
    };
    if (role) entry.Role = 'coordinator';
    const prev = map[hash];
    if (prev) {
      if (JSON.stringify(prev.SANs) === JSON.stringify(entry.SANs)) {
        throw new ContrastError(
          `policy hash collision: ${describe(owner.get(hash)!)} and ${describe(w)} have the same policy ${hash} and SANs`,
          {
            code: 'POLICY_COLLISION',
          },
        );
      }
      warn(
        `${describe(w)}: same policy as ${describe(owner.get(hash)!)} (${hash}); its SANs and workload secret ID are not in the manifest (Contrast keeps only the first)`,
      );
      continue;
    }
    map[hash] = entry;
    owner.set(hash, w);
  }
  return { map, owner };
}

/** --check: the outputs that differ from the disk. Owner keys and reference values are the operator's. */
async function staleOutputs(
  opts: GenerateOptions,
  kept: KubeFile[],
  originalText: string | undefined,
  map: Record<string, PolicyEntry>,
  owner: Map<string, Workload>,
): Promise<StaleEntry[]> {
  // Loaded for --check only: the review code brings the Rego engine along (~300 KB of the bundle),
  // which an ordinary run has no use for and would compile at every start.
  const { compareManifestPolicies, compareYaml, readIfExists } = await import('../review/check.js');
  const owners = new Map([...owner].map(([h, w]) => [h, `${w.kind}/${w.name}`]));
  const yaml = opts.output
    ? compareYaml(opts.output, await readIfExists(opts.output), combinedOutput(kept))
    : kept.flatMap((f) => compareYaml(f.path, f.text, serializeKubeFile(f)));
  return [...yaml, ...compareManifestPolicies(opts.manifestPath, originalText, map, owners)];
}

/** Stage 11a: owner keys generated when exactly one path is given and it does not exist. */
async function newOwnerKeys(
  opts: GenerateOptions,
  seed: SeedKey,
): Promise<{ generatedKeys: Map<string, string>; newFiles: Staged[] }> {
  const generatedKeys = new Map<string, string>();
  const newFiles: Staged[] = [];
  if (
    !opts.disableUpdates &&
    opts.workloadOwnerKeys.length === 1 &&
    !existsSync(opts.workloadOwnerKeys[0]!)
  ) {
    const key = newWorkloadOwnerKey();
    generatedKeys.set(opts.workloadOwnerKeys[0]!, key);
    newFiles.push({ path: opts.workloadOwnerKeys[0]!, data: key, mode: 0o600 });
  }
  if (seed.path && seed.key) {
    const key = await seed.key;
    generatedKeys.set(seed.path, key);
    newFiles.push({ path: seed.path, data: key, mode: 0o600 });
  }
  return { generatedKeys, newFiles };
}

/**
 * Stage 11b: the manifest's Coordinator count and reference values, as the release line's Validate().
 * Findings the user has to fill in are added to `done` (release) or warned (release-less).
 */
function validateManifestFor(run: Run, manifest: Manifest, done: string[]): void {
  const { opts, release, print, warn } = run;
  const coord = coordinatorIssues(manifest, release?.line);
  if (coord.length) {
    const none = Object.values(manifest.Policies ?? {}).every((e) => e.Role !== 'coordinator');
    // Go prints the hint on stdout, then fails with the count error.
    if (none && release)
      print('  No Coordinator resource found, did you forget to add it to your resources?');
    throw new ContrastError(coord.map(formatIssue).join('\n'), {
      code: 'COORDINATOR_COUNT',
      ...(none && !release
        ? { hint: 'No Coordinator resource found, did you forget to add it to your resources?' }
        : {}),
    });
  }
  const rvIssues = validateReferenceValues(
    manifest.ReferenceValues,
    'ReferenceValues',
    release ? { line: release.line, goRules: true } : {},
  );
  const fatal = rvIssues.filter((i) => !i.expectedMissing);
  if (fatal.length)
    throw new ContrastError(`invalid reference values:\n  ${fatal.map(formatIssue).join('\n  ')}`, {
      code: 'BAD_MANIFEST',
    });
  // One line per reference-value set, naming the fields still to fill in.
  const bySet = new Map<string, string[]>();
  for (const i of rvIssues) {
    const m = /^(ReferenceValues\.(?:snp|tdx)\[\d+\])\.(.*)$/.exec(i.path);
    const key = m ? m[1]! : i.path;
    bySet.set(key, [...(bySet.get(key) ?? []), m ? m[2]! : i.message]);
  }
  if (release) {
    // Go prints each reference-value set's findings on stdout: "  snp[0].MinimumTCB.X: Please fill in
    // all reference values for field cannot be empty" (ValidationError.formatError, continuation lines
    // unindented; ExpectedMissingReferenceValueError.Error).
    // Buffered with the ✔ lines (Go's order), printed once everything is written.
    for (const [set, list] of groupBySet(rvIssues))
      done.push(
        `  ${list.map((i) => `${set}${i.rest}: Please fill in all reference values for ${i.message}`).join('\n')}`,
      );
  } else for (const [set, fields] of bySet) warn(`${set}: expected missing: ${fields.join(', ')}`);
  if (rvIssues.length && !release) {
    warn(
      `Please fill in the reference values in ${opts.manifestPath} (or import them with --reference-values-file); ` +
        'the Coordinator rejects every workload until they are set',
    );
  }
}

/** Stage 11c: the owner keys' public parts (2026) or digests (2025) into the manifest. */
async function recordOwnerKeys(
  opts: GenerateOptions,
  release: Release | undefined,
  manifest: Manifest,
  generatedKeys: Map<string, string>,
): Promise<void> {
  if (release?.line === '2026') {
    manifest.WorkloadOwnerKeyDigests = null;
    if (opts.disableUpdates) manifest.WorkloadOwnerPubKeys = null;
    else {
      const keys: string[] = [];
      for (const p of opts.workloadOwnerKeys)
        keys.push(workloadOwnerPubKeyHex(await readKey(p, generatedKeys), p));
      manifest.WorkloadOwnerPubKeys = addSorted(manifest.WorkloadOwnerPubKeys ?? null, keys);
    }
  } else if (opts.disableUpdates) manifest.WorkloadOwnerKeyDigests = null;
  else {
    const digests: string[] = [];
    for (const p of opts.workloadOwnerKeys)
      digests.push(workloadOwnerKeyDigest(await readKey(p, generatedKeys), p));
    manifest.WorkloadOwnerKeyDigests = addSorted(manifest.WorkloadOwnerKeyDigests, digests);
  }
  const seedKeys: string[] = [];
  for (const p of opts.seedshareOwnerKeys)
    seedKeys.push(seedshareOwnerPubKeyHex(await readKey(p, generatedKeys), p));
  manifest.SeedshareOwnerPubKeys = addSorted(manifest.SeedshareOwnerPubKeys, seedKeys);
}

/**
 * Stage 12: stage everything, then write together: YAML and keys first, the manifest last, so a hard
 * kill between the renames never leaves a manifest describing YAML that is not there.
 */
async function writeOutputs(
  opts: GenerateOptions,
  kept: KubeFile[],
  newFiles: Staged[],
  flavours: Flavour[],
  manifestText: string,
  originalText: string | undefined,
): Promise<{ written: string[]; stdout: string | undefined }> {
  const staged: Staged[] = [];
  let stdout: string | undefined;
  if (opts.output === STDIO_PATH) stdout = combinedOutput(kept);
  else if (opts.output) staged.push({ path: opts.output, data: combinedOutput(kept) });
  else {
    for (const f of kept) {
      const text = serializeKubeFile(f);
      if (f.path === STDIO_PATH) stdout = text;
      else if (text !== f.text) staged.push({ path: f.path, data: text });
    }
  }
  staged.push(...newFiles);
  // Like Contrast, missing rules/settings files are created from the built-in ones (so the user can
  // inspect and edit them); settings only when every workload uses the same flavour.
  const defaults: Staged[] = [];
  if (!existsSync(opts.policyPath))
    defaults.push({ path: opts.policyPath, data: await readFile(defaultRulesPath(), 'utf8'), mode: 0o644 });
  if (!existsSync(opts.settingsPath) && flavours.length === 1) {
    defaults.push({
      path: opts.settingsPath,
      data: await readFile(defaultSettingsPath(flavours[0]!), 'utf8'),
      mode: 0o644,
    });
  }
  staged.push(...defaults);
  if (manifestText !== originalText) staged.push({ path: opts.manifestPath, data: manifestText });
  await writeFilesAtomic(staged, opts.writeHooks);
  for (const f of defaults)
    log.info(`wrote the built-in ${f.path === opts.policyPath ? 'rules' : 'settings'} to ${f.path}`);
  for (const f of newFiles) log.info(`generated ${f.path} (mode 0600)`);
  return { written: staged.map((s) => s.path), stdout };
}

/**
 * `contrast generate`: read inputs → find workloads → platforms → manifest → injections → pins →
 * image requests sent → runtime-class and SNP patches (while the registry answers) → layers and
 * policies → manifest entries → validate, keys → write atomically.
 */
export async function runGenerate(opts: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const warnings: string[] = [];
  const release = opts.release;
  const run: Run = {
    opts,
    release,
    line: release ? lineInfo(release.line) : undefined,
    print: opts.print ?? ((line: string) => log.info(line)),
    warnings,
    warn: (m: string): void => {
      warnings.push(m);
      log.warn(m);
    },
    phase: (name: string): void =>
      log.debug(`generate: ${name} after ${((performance.now() - started) / 1000).toFixed(2)} s`),
  };
  await checkOptions(opts);
  const seed = startSeedKey(opts);
  startLayerWorkersEarly(opts.cachePath);

  const files = await readInputs(opts.paths, opts.manifestPath);
  const targets = findTargets(files, run.warn);
  const { workloads, kept } = targets;
  const defaultPlatform = opts.referenceValues ? platformByName(opts.referenceValues) : undefined;
  checkTargets(workloads, run.warn, { haveDefaultPlatform: defaultPlatform !== undefined });
  const plan = planPlatforms(workloads, defaultPlatform, release);
  const manifestPlan = await prepareManifest(run, plan.platforms);
  const { manifest, originalText } = manifestPlan;
  const platformOf = await injectContainers(run, workloads, plan);

  const clientOptions = clientOptionsFromFlags(opts.registry ?? {});
  const platform: Platform | undefined = clientOptions.platform;
  // Before pinning: the Contrast images' manifests and configs then come from the metadata cache too.
  const client = openImageClient({
    client: clientOptions,
    yaml: files,
    workloads,
    cachePath: opts.cachePath || null,
    check: opts.check === true,
  });
  try {
    await pinImages(workloads, release, client, platform);
    // The settings decide the images (the pause container), so they are read before the requests go
    // out; but as in Go, whose patches all run before the settings are read, a patch's error (stage 8)
    // comes before a settings error.
    const imagesStarted = await startImages(run, targets, platformOf, client, platform).then(
      (inputs) => ({ inputs }),
      (err: unknown) => ({ err }),
    );
    await patchPlatforms(run, workloads, plan, manifestPlan, platformOf);
    if ('err' in imagesStarted) throw imagesStarted.err;
    const { inputs } = imagesStarted;
    run.phase('patched and pinned');
    // The Go CLI's ✔️ lines are printed only once everything is written (a failure rolls back).
    const done: string[] = ['✔️ Patched targets'];

    const { policies, hashOf, flavours } = await generateWorkloadPolicies(run, targets, platformOf, inputs);
    run.phase('policies generated');
    done.push('✔️ Generated workload policy annotations');
    if (opts.insecureEnableDebugShellAccess) done.push('⚠️ Insecure debug shell access enabled!');

    const { map, owner } = policyEntries(workloads, hashOf, run.warn);
    manifest.Policies = map;

    if (opts.check) {
      return {
        manifest,
        manifestText: serializeManifest(manifest, release?.line),
        written: [],
        warnings,
        policies,
        stale: await staleOutputs(opts, kept, originalText, map, owner),
      };
    }

    const { generatedKeys, newFiles } = await newOwnerKeys(opts, seed);
    validateManifestFor(run, manifest, done);
    await recordOwnerKeys(opts, release, manifest, generatedKeys);
    verifyAfter(workloads, release ? { releaseVersion: release.version } : {});

    const manifestText = serializeManifest(manifest, release?.line);
    const { written, stdout } = await writeOutputs(
      opts,
      kept,
      newFiles,
      flavours,
      manifestText,
      originalText,
    );
    run.phase('written');
    done.push(`✔️ Updated manifest ${opts.manifestPath}`);
    for (const line of done) run.print(line);
    return {
      manifest,
      manifestText,
      written,
      warnings,
      policies,
      ...(stdout !== undefined ? { stdout } : {}),
    };
  } finally {
    await Promise.resolve(client.close());
  }
}

/** Expected-missing findings grouped per reference-value set, as Go prints them. */
function groupBySet(
  issues: readonly { path: string; message: string }[],
): Map<string, Array<{ rest: string; message: string }>> {
  const out = new Map<string, Array<{ rest: string; message: string }>>();
  for (const i of issues) {
    const m = /^ReferenceValues\.((?:snp|tdx)\[\d+\])(.*)$/.exec(i.path);
    const set = m ? m[1]! : i.path;
    out.set(set, [...(out.get(set) ?? []), { rest: m ? m[2]! : '', message: i.message }]);
  }
  return out;
}

/**
 * 2026 line (cli/cmd/generate.go patchIDBlockAnnotation): ID block, ID auth and guest policy per product
 * line, computed for the pod's vCPU count from the manifest's SNP reference values of the pod's platform.
 * Go fails only when no product line can be computed ("could not compute ID block for any product").
 */
function setComputedIdBlocks(
  w: Workload,
  p: PlatformInfo,
  vcpus: number,
  refVals: readonly Record<string, unknown>[],
  problems: string[],
): void {
  const { annotations, problems: missing } = snpIdBlockAnnotations(refVals, p.name, vcpus);
  if (Object.keys(annotations).length === 0) {
    problems.push(
      `${describe(w)}: injecting ID block annotations: could not compute ID block for any product (${vcpus} vCPUs on ${p.name}): ${missing.join('; ')}`,
    );
    return;
  }
  for (const [k, v] of Object.entries(annotations)) setPodAnnotation(w, k, v);
}

/**
 * 2025 line (cli/cmd/generate.go patchIDBlockAnnotation): the ID block for the pod's vCPU count from the
 * release's table, under `contrast.edgeless.systems/snp-id-block/<platform lowercase>`. Go writes the
 * Genoa value and then the Milan value to that same key, so Milan's is what ends up in the YAML; both
 * must exist ("missing ID block configuration for runtime %s with %s CPUs").
 */
export const ID_BLOCK_ANNOTATION_PREFIX = 'contrast.edgeless.systems/snp-id-block/';

function setIdBlockFromTable(
  w: Workload,
  p: PlatformInfo,
  vcpus: number,
  release: Release,
  problems: string[],
): void {
  const table = release.snpIdBlocks;
  if (!table) {
    problems.push(
      `${describe(w)}: Contrast ${release.version} (2025 line) sets SNP ID blocks from its table, and ${release.source} has no snp-id-blocks.json (the Go CLI of that release embeds it as SNPIDBlocks)`,
    );
    return;
  }
  const platform = p.name.toLowerCase();
  const cpu = String(vcpus);
  const genoa = table[platform]?.['Genoa']?.[cpu]?.idBlock;
  const milan = table[platform]?.['Milan']?.[cpu]?.idBlock;
  if (!genoa || !milan) {
    problems.push(`${describe(w)}: missing ID block configuration for runtime ${platform} with ${cpu} CPUs`);
    return;
  }
  setPodAnnotation(w, ID_BLOCK_ANNOTATION_PREFIX + platform, milan);
}
