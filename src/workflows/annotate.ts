// The `policy generate` pipeline without Contrast's manifest: YAML in → images resolved once →
// policies → annotated YAML out (all files written or none).
import { removeStaleTempFilesFor, writeFilesAtomic } from '../internal/atomic.js';
import { STDIO_PATH } from '../internal/files.js';
import { log } from '../internal/log.js';
import { ContrastError } from '../internal/errors.js';
import type { ProgressMode } from '../image/index.js';
import { readKubeFiles, serializeKubeFile } from '../kube/index.js';
import { parsePlatform, type RegistryClientOptions } from '../registry/index.js';
import { compareYaml, readIfExists, type StaleEntry } from '../review/check.js';
import {
  generatePolicies,
  loadPolicySettings,
  requiredImages,
  type PolicyEncoding,
  type PolicyOptions,
  type WorkloadPolicy,
} from '../policy/index.js';
import { openImageClient, resolveImages } from './resolve-images.js';
import { findConfidentialWorkloads } from './targets.js';

export interface AnnotateOptions extends Omit<PolicyOptions, 'configFiles'> {
  paths: string[];
  /** YAML files with ConfigMaps/Secrets the workloads reference. */
  configFilePaths: string[];
  runtimeClassPrefix: string;
  encoding?: PolicyEncoding;
  /** Write the annotated YAML here instead of over the (single) input file. */
  output?: string;
  /** Only compute the policies; change no file. */
  dryRun?: boolean;
  /** Write nothing (not even the layer cache); report every output that differs from the disk. */
  check?: boolean;
  client: RegistryClientOptions;
  platform?: string;
  cachePath: string | null;
  progress: ProgressMode;
}

export interface AnnotateResult {
  policies: WorkloadPolicy[];
  /** Paths written (empty with dryRun or when no workload matched). */
  written: string[];
  /** YAML meant for stdout (`-o -`, or `-` as the input): always the whole stream, changed or not. */
  stdout?: string;
  /** With `check`: the outputs that differ from what is on disk (empty = up to date). */
  stale?: StaleEntry[];
}

export async function annotateWorkloads(opts: AnnotateOptions): Promise<AnnotateResult> {
  const files = await readKubeFiles(opts.paths);
  // Temp files of an earlier, killed run (ours by name, their process gone) go first.
  await removeStaleTempFilesFor(files.map((f) => f.path));
  if (opts.output !== undefined && files.length !== 1) {
    throw new ContrastError(`-o/--output needs exactly one input file, got ${files.length}`);
  }
  const configFiles = opts.configFilePaths.length > 0 ? await readKubeFiles(opts.configFilePaths) : [];
  const workloads = findConfidentialWorkloads(files, opts.runtimeClassPrefix, (m) => log.warn(m));
  // In a pipeline the YAML flows on even when there is nothing to annotate.
  // -o - (one input) or the stdin input without -o: that stream goes to stdout.
  const stdoutFile =
    opts.dryRun || (opts.output !== undefined && opts.output !== STDIO_PATH)
      ? undefined
      : opts.output === STDIO_PATH
        ? files[0]
        : files.find((f) => f.path === STDIO_PATH);
  const passThrough = (): string | undefined => (stdoutFile ? serializeKubeFile(stdoutFile) : undefined);
  if (workloads.length === 0) {
    if (opts.check) return { policies: [], written: [], stale: [] };
    const stdout = passThrough();
    return { policies: [], written: [], ...(stdout !== undefined ? { stdout } : {}) };
  }

  const options: PolicyOptions & { encoding?: PolicyEncoding } = {
    flavour: opts.flavour,
    configFiles,
    ...(opts.rulesPath !== undefined ? { rulesPath: opts.rulesPath } : {}),
    ...(opts.settingsPath !== undefined ? { settingsPath: opts.settingsPath } : {}),
    ...(opts.settingsDropInDir !== undefined ? { settingsDropInDir: opts.settingsDropInDir } : {}),
    ...(opts.encoding !== undefined ? { encoding: opts.encoding } : {}),
  };
  const settings = await loadPolicySettings(options);

  const client = openImageClient({
    client: opts.client,
    yaml: [...files, ...configFiles],
    workloads,
    cachePath: opts.cachePath,
    check: opts.check === true,
  });
  let policies: WorkloadPolicy[];
  try {
    const platform = opts.client.platform ?? (opts.platform ? parsePlatform(opts.platform) : undefined);
    const images = await resolveImages(client, requiredImages(workloads, settings), workloads, {
      cachePath: opts.cachePath,
      check: opts.check === true,
      verity: opts.flavour === 'host-pull',
      progress: opts.progress,
      ...(platform ? { platform } : {}),
    });
    policies = await generatePolicies(files, workloads, images, settings, options);
  } finally {
    await client.close();
  }
  const changed = new Set(policies.map((p) => p.workload.file));
  if (stdoutFile) changed.delete(stdoutFile);
  const outputs = [...changed].map((f) => ({ path: opts.output ?? f.path, data: serializeKubeFile(f) }));
  if (opts.check) {
    const stale: StaleEntry[] = [];
    for (const o of outputs) {
      const onDisk =
        opts.output === undefined
          ? [...changed].find((f) => f.path === o.path)!.text
          : await readIfExists(o.path);
      stale.push(...compareYaml(o.path, onDisk, o.data));
    }
    return { policies, written: [], stale };
  }
  if (opts.dryRun) return { policies, written: [] };

  await writeFilesAtomic(outputs);
  const stdout = passThrough();
  return { policies, written: outputs.map((o) => o.path), ...(stdout !== undefined ? { stdout } : {}) };
}
