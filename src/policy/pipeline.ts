// The `policy generate` pipeline without Contrast's manifest: YAML in → images resolved once →
// policies → annotated YAML out (all files written or none).
import { writeFilesAtomic } from '../internal/atomic.js';
import { ContrastError } from '../internal/errors.js';
import { ImageAnalyzer, type ProgressMode } from '../image/index.js';
import { findWorkloads, readKubeFiles, serializeKubeFile } from '../kube/index.js';
import { pullSecretEntries, withPullSecrets } from '../kube/pull-secrets.js';
import { RegistryClient, parsePlatform, type RegistryClientOptions } from '../registry/index.js';
import { compareYaml, readIfExists, type StaleEntry } from '../review/check.js';
import {
  generatePolicies,
  loadPolicySettings,
  requiredImages,
  type PolicyEncoding,
  type PolicyOptions,
  type WorkloadPolicy,
} from './index.js';

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
  /** With `check`: the outputs that differ from what is on disk (empty = up to date). */
  stale?: StaleEntry[];
}

export async function annotateWorkloads(opts: AnnotateOptions): Promise<AnnotateResult> {
  const files = await readKubeFiles(opts.paths);
  if (opts.output !== undefined && files.length !== 1) {
    throw new ContrastError(`-o/--output needs exactly one input file, got ${files.length}`);
  }
  const configFiles = opts.configFilePaths.length > 0 ? await readKubeFiles(opts.configFilePaths) : [];
  const workloads = findWorkloads(files, { runtimeClassPrefix: opts.runtimeClassPrefix });
  if (workloads.length === 0) return { policies: [], written: [], ...(opts.check ? { stale: [] } : {}) };

  const options: PolicyOptions & { encoding?: PolicyEncoding } = {
    flavour: opts.flavour,
    configFiles,
    ...(opts.rulesPath !== undefined ? { rulesPath: opts.rulesPath } : {}),
    ...(opts.settingsPath !== undefined ? { settingsPath: opts.settingsPath } : {}),
    ...(opts.settingsDropInDir !== undefined ? { settingsDropInDir: opts.settingsDropInDir } : {}),
    ...(opts.encoding !== undefined ? { encoding: opts.encoding } : {}),
  };
  const settings = await loadPolicySettings(options);

  // AKS nodes pull with the pods' imagePullSecrets: when those Secrets are in the input, policy
  // generation uses the same credentials (ahead of the user's own files).
  const client = new RegistryClient({
    ...opts.client,
    credentials: withPullSecrets(
      opts.client.credentials,
      pullSecretEntries([...files, ...configFiles], workloads),
    ),
  });
  let policies: WorkloadPolicy[];
  try {
    const analyzer = new ImageAnalyzer({
      client,
      cachePath: opts.cachePath,
      readOnlyCache: opts.check === true,
      verity: opts.flavour === 'host-pull',
      progress: opts.progress,
    });
    const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
    const images = await analyzer.analyzeMany(
      requiredImages(workloads, settings),
      platform ? { platform } : {},
    );
    policies = await generatePolicies(files, workloads, images, settings, options);
  } finally {
    await client.close();
  }
  const changed = new Set(policies.map((p) => p.workload.file));
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
  return { policies, written: outputs.map((o) => o.path) };
}
