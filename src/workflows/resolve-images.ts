// Stage "resolve images", shared by `contrast generate` and `contrast policy generate`: one registry
// client per run (the user's credentials plus the pods' imagePullSecrets found in any YAML the command
// read, as the nodes would pull), then every image once — in parallel, deduplicated, layers shared
// through the analyzer and its cache. When images fail, one error names each image, why, and every
// workload container using it.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { ImageAnalyzer, metadataCacheDir, type ProgressMode } from '../image/index.js';
import type { AnalyzedImage } from '../image/types.js';
import type { KubeFile, Workload } from '../kube/index.js';
import { containers, describe } from '../kube/pod.js';
import { pullSecretEntries, withPullSecrets } from '../kube/pull-secrets.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/index.js';
import type { Platform } from '../registry/types.js';

export interface ImageClientOptions {
  client: RegistryClientOptions;
  /** Every YAML document the command read (inputs and --config-file): Secrets come from there. */
  yaml: readonly KubeFile[];
  workloads: readonly Workload[];
  /** Layer cache file; manifests and configs are cached beside it. null: no cache. */
  cachePath: string | null;
  /** --check: read the caches, write none. */
  check: boolean;
}

/**
 * The run's registry client. AKS nodes pull with the pods' imagePullSecrets: when those Secrets are
 * in the input, policy generation uses the same credentials (ahead of the user's own files).
 */
export function openImageClient(o: ImageClientOptions): RegistryClient {
  const client = new RegistryClient({
    ...o.client,
    credentials: withPullSecrets(o.client.credentials, pullSecretEntries([...o.yaml], [...o.workloads])),
  });
  client.useMetadataCache(o.cachePath ? metadataCacheDir(o.cachePath) : undefined, o.check);
  return client;
}

export interface ResolveImagesOptions {
  cachePath: string | null;
  check: boolean;
  /** dm-verity roots of every layer (host pull). */
  verity: boolean;
  concurrency?: number;
  progress: ProgressMode;
  platform?: Platform;
}

/** Images whose manifests and configs are already being fetched; `analyze` adds the layers. */
export interface ImageResolution {
  /** Every image analysed once (layers shared); one error names each failed image and its users. */
  analyze(): Promise<Map<string, AnalyzedImage>>;
}

/**
 * Sends the registry requests for the manifests and configs of `refs` now, so the caller's own work
 * (e.g. the SNP patches of `generate`) runs while they are answered. Layers are streamed only when
 * `analyze` is called: a caller that fails meanwhile has downloaded no layer. `workloads` name the
 * users of a failed image; they are read when `analyze` is called.
 */
export function startImageResolution(
  client: RegistryClient,
  refs: readonly string[],
  workloads: readonly Workload[],
  o: ResolveImagesOptions,
): ImageResolution {
  const analyzer = new ImageAnalyzer({
    client,
    cachePath: o.cachePath,
    readOnlyCache: o.check,
    verity: o.verity,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    progress: o.progress,
  });
  analyzer.prefetch(refs, o.platform);
  return { analyze: () => analyzeAll(analyzer, [...refs], o.platform, imageUsers(workloads)) };
}

/** Analyses `refs` once each with `client`; `workloads` name the users of a failed image. */
export async function resolveImages(
  client: RegistryClient,
  refs: readonly string[],
  workloads: readonly Workload[],
  o: ResolveImagesOptions,
): Promise<Map<string, AnalyzedImage>> {
  return startImageResolution(client, refs, workloads, o).analyze();
}

/** Maps each image to the workloads (and containers) using it, for error messages. */
function imageUsers(workloads: readonly Workload[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const w of workloads) {
    for (const c of containers(w)) {
      const image = c.node.get('image');
      if (typeof image !== 'string') continue;
      out.set(image, [...(out.get(image) ?? []), `${describe(w)} container "${c.name}"`]);
    }
  }
  return out;
}

const OFFLINE_HINT =
  'no route to that registry (air-gapped?): mirror the image into a registry you can reach and point ' +
  'a [[registry.mirror]] in registries.conf (--registries-conf) at it; the YAML keeps the original name';

/**
 * Analyses every image once (in parallel, layers shared through the analyzer) and, when some fail,
 * throws one error naming each failed image, the reason and every workload container using it.
 */
async function analyzeAll(
  analyzer: ImageAnalyzer,
  refs: string[],
  platform: Platform | undefined,
  users: Map<string, string[]>,
): Promise<Map<string, AnalyzedImage>> {
  // Every manifest and config first (workloads, pause, injected images): an unreachable image fails
  // the run before the layers of all the others are downloaded.
  const resolved = await Promise.allSettled(refs.map((r) => analyzer.resolve(r, platform)));
  const settled: Array<PromiseSettledResult<unknown>> = resolved.some((s) => s.status === 'rejected')
    ? resolved
    : await Promise.allSettled(refs.map((r) => analyzer.analyze(r, platform ? { platform } : {})));
  const images = new Map<string, AnalyzedImage>();
  const failed: Array<{ ref: string; err: unknown }> = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') images.set(refs[i]!, s.value as AnalyzedImage);
    else failed.push({ ref: refs[i]!, err: s.reason });
  });
  if (failed.length === 0) return images;
  const lines = failed.map(({ ref, err }) => {
    const who = (users.get(ref) ?? ['the policy settings (pause container)'])
      .map((u) => `\n    used by ${u}`)
      .join('');
    return `image ${ref}: ${errorMessage(err)}${who}`;
  });
  const first = failed[0]!.err;
  let hint = first instanceof ContrastError ? first.hint : undefined;
  if (
    !hint &&
    failed.some(({ err }) =>
      /cannot reach|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|timed out/i.test(errorMessage(err)),
    )
  )
    hint = OFFLINE_HINT;
  throw new ContrastError(
    failed.length === 1
      ? lines[0]!
      : `${failed.length} images could not be analysed:\n  ${lines.join('\n  ')}`,
    {
      code: first instanceof ContrastError ? first.code : 'IMAGE',
      ...(hint ? { hint } : {}),
      cause: first,
    },
  );
}
