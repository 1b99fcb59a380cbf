// Images → analysed layers: resolves each image through the registry client, streams every layer
// at most once per run (deduplicated across images by blob digest and diff_id), bounded parallelism,
// the layer cache, progress, and the image USER resolved against the merged passwd/group.
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { limit, type Limit } from '../internal/limit.js';
import { log } from '../internal/log.js';
import { formatReference } from '../reference/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { Descriptor, Platform, ResolvedImage } from '../registry/types.js';
import { loadCache, saveCache, type CachedImage, type CachedLayer, type ParsedCache } from './cache.js';
import { analyzeLayerStream, compressionOf, type LayerPassOptions } from './layer.js';
import { warmLayerWorkers } from './layer-workers.js';
import { createProgress, type Progress, type ProgressMode } from './progress.js';
import type { TarfsOptions } from './tarfs.js';
import type { AnalyzedImage, LayerAnalysis } from './types.js';
import { mergeUserFiles, resolveImageUser, type LayerUserFiles } from './users.js';

export interface ImageAnalyzerOptions {
  client: RegistryClient;
  /** Layer cache file; null = no cache. Default `layers-cache.json`. */
  cachePath?: string | null;
  /** Read the cache but never write it (`--check` writes nothing). */
  readOnlyCache?: boolean;
  /** Compute tarfs dm-verity roots (AKS / tarfs-era policies). */
  verity?: boolean;
  /** Layers analysed at once. Default: CPU count + 1 (one more to overlap network with CPU). */
  concurrency?: number;
  progress?: ProgressMode;
  tarfs?: TarfsOptions;
  zstdDecoder?: LayerPassOptions['zstdDecoder'];
  maxUncompressedSize?: number;
  /** Where each layer's tar analysis runs (LayerPassOptions.worker); default `auto`. */
  worker?: LayerPassOptions['worker'];
  /** Where a gzip pass on the workers inflates (LayerPassOptions.inflateOn); default `worker`. */
  inflateOn?: LayerPassOptions['inflateOn'];
}

interface LayerOutcome {
  analysis: Omit<LayerAnalysis, 'digest' | 'mediaType' | 'size'>;
  users: LayerUserFiles;
}

/** Where manifests and configs are kept for a layer cache at `cachePath`. */
export function metadataCacheDir(cachePath: string): string {
  return join(dirname(cachePath), 'image-metadata');
}

function platformKey(p: Platform | undefined): string {
  return p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : '';
}

export class ImageAnalyzer {
  private readonly client: RegistryClient;
  private readonly cachePath: string | null;
  private readonly readOnlyCache: boolean;
  private readonly verity: boolean;
  private readonly limit: Limit;
  private readonly progressMode: ProgressMode;
  private readonly passOptions: LayerPassOptions;
  /** Whether cached verity roots apply (they were computed with the default tarfs options). */
  private readonly verityCacheable: boolean;
  private cache: Promise<ParsedCache> | undefined;
  private readonly layers = new Map<string, Promise<LayerOutcome>>();
  private readonly images = new Map<string, Promise<AnalyzedImage>>();
  private readonly resolved = new Map<string, Promise<ResolvedImage>>();
  private readonly newLayers = new Map<string, CachedLayer>();
  private readonly newImages = new Map<string, CachedImage>();
  private progress: Progress | undefined;
  private active = 0;
  /** The layer workers were asked to start (once per analyzer). */
  private warmed = false;
  /** Layer blobs actually streamed in this run (tests, benchmarks). */
  fetchedLayers = 0;

  constructor(o: ImageAnalyzerOptions) {
    this.client = o.client;
    this.cachePath = o.cachePath === undefined ? 'layers-cache.json' : o.cachePath;
    this.readOnlyCache = o.readOnlyCache ?? false;
    // Manifests and configs are cached beside the layer cache, so a warm run of digest-pinned
    // images makes no registry request at all (by-tag references still cost one HEAD each).
    this.client.useMetadataCache(
      this.cachePath === null ? undefined : metadataCacheDir(this.cachePath),
      this.readOnlyCache,
    );
    this.verity = o.verity ?? false;
    this.limit = limit(o.concurrency ?? availableParallelism() + 1);
    this.progressMode = o.progress ?? 'auto';
    this.verityCacheable = (o.tarfs?.paxOwners ?? true) === true;
    this.passOptions = {
      verity: this.verity,
      ...(o.tarfs ? { tarfs: o.tarfs } : {}),
      ...(o.zstdDecoder ? { zstdDecoder: o.zstdDecoder } : {}),
      ...(o.maxUncompressedSize ? { maxUncompressedSize: o.maxUncompressedSize } : {}),
      ...(o.worker === undefined ? {} : { worker: o.worker }),
      ...(o.inflateOn === undefined ? {} : { inflateOn: o.inflateOn }),
    };
  }

  private loadCache(): Promise<ParsedCache> {
    this.cache ??=
      this.cachePath === null
        ? Promise.resolve({ layers: new Map(), images: new Map() })
        : loadCache(this.cachePath);
    return this.cache;
  }

  async analyze(ref: string, options: { platform?: Platform } = {}): Promise<AnalyzedImage> {
    const out = await this.run(() => this.image(ref, options.platform));
    return out;
  }

  /** Analyses several images concurrently (shared layers once); results keyed by the given ref. */
  async analyzeMany(
    refs: string[],
    options: { platform?: Platform } = {},
  ): Promise<Map<string, AnalyzedImage>> {
    return this.run(async () => {
      const unique = [...new Set(refs)];
      // Every manifest and config first: no layer is streamed while another image cannot resolve.
      const resolved = await Promise.allSettled(unique.map((r) => this.resolve(r, options.platform)));
      const settled: Array<PromiseSettledResult<unknown>> = resolved.some((s) => s.status === 'rejected')
        ? resolved
        : await Promise.allSettled(unique.map((r) => this.image(r, options.platform)));
      const out = new Map<string, AnalyzedImage>();
      const errors: string[] = [];
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') out.set(unique[i]!, s.value as AnalyzedImage);
        else errors.push(errorMessage(s.reason));
      });
      if (errors.length === 1)
        throw (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
      if (errors.length > 1) {
        throw new ContrastError(`${errors.length} images could not be analysed:\n  ${errors.join('\n  ')}`, {
          code: 'IMAGE_ANALYSIS',
        });
      }
      return out;
    });
  }

  /** Writes the new cache entries gathered so far (also done at the end of analyze/analyzeMany). */
  async flush(): Promise<void> {
    if (
      this.cachePath === null ||
      this.readOnlyCache ||
      (this.newLayers.size === 0 && this.newImages.size === 0)
    )
      return;
    const layers = [...this.newLayers.values()];
    const images = [...this.newImages.values()];
    this.newLayers.clear();
    this.newImages.clear();
    await saveCache(this.cachePath, layers, images);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active++ === 0) this.progress = createProgress(this.progressMode);
    this.warmWorkers();
    try {
      return await fn();
    } finally {
      if (--this.active === 0) {
        this.progress?.close();
        this.progress = undefined;
        await this.flush();
      }
    }
  }

  /**
   * Starts the layer worker threads while the registry round trips run, when layers will surely be
   * streamed (no cache, or an empty one): their start-up (~50-100 ms each) otherwise delays the
   * first layer. A warm run of cached images starts none.
   */
  private warmWorkers(): void {
    if (this.passOptions.worker === false || this.warmed) return;
    this.warmed = true;
    void this.loadCache().then(
      (c) => (c.layers.size === 0 ? warmLayerWorkers(this.verity) : undefined),
      () => undefined,
    );
  }

  private image(ref: string, platform: Platform | undefined): Promise<AnalyzedImage> {
    const key = `${ref}\n${platformKey(platform)}`;
    let p = this.images.get(key);
    if (!p) {
      p = this.analyzeImage(ref, platform);
      this.images.set(key, p);
    }
    return p;
  }

  /**
   * Requests the manifests and configs of `refs` now (memoized: a later `analyze` or `resolve` awaits
   * the same requests; like any `resolve`, on a cold cache this starts the layer workers). Lets a
   * caller overlap the registry round trips with its own work; failures surface to whoever awaits
   * the image later.
   */
  prefetch(refs: readonly string[], platform?: Platform): void {
    for (const r of new Set(refs)) void this.resolve(r, platform);
  }

  /**
   * Manifest and config of an image (memoized). Callers resolve every image first and stream layers
   * only when all resolved, so an unreachable image (say the pause image) fails the run before any
   * layer of the others is downloaded.
   */
  resolve(ref: string, platform?: Platform): Promise<ResolvedImage> {
    // Callers resolve every image before any layer streams: the workers start during those round trips.
    this.warmWorkers();
    const key = `${ref}\n${platformKey(platform)}`;
    let p = this.resolved.get(key);
    if (!p) {
      p = this.client.resolveImage(ref, platform ? { platform } : {});
      p.catch(() => undefined); // reported by whoever awaits it
      this.resolved.set(key, p);
    }
    return p;
  }

  private async analyzeImage(ref: string, platform: Platform | undefined): Promise<AnalyzedImage> {
    const resolved = await this.resolve(ref, platform);
    const name = formatReference(resolved.reference);
    const diffIds = resolved.config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== resolved.layers.length) {
      throw new ContrastError(
        `${name}: manifest has ${resolved.layers.length} layers but the config lists ${diffIds.length} diff_ids`,
        { code: 'DIFF_ID_COUNT' },
      );
    }
    // Reject unknown media types before downloading anything.
    for (const l of resolved.layers) {
      try {
        compressionOf(l.mediaType);
      } catch (err) {
        throw new ContrastError(`${name}: layer ${l.digest}: ${errorMessage(err)}`, {
          code: 'LAYER_MEDIA_TYPE',
        });
      }
    }
    let outcomes: LayerOutcome[];
    try {
      outcomes = await Promise.all(resolved.layers.map((d, i) => this.layer(resolved, d, diffIds[i]!)));
    } catch (err) {
      if (err instanceof ContrastError) {
        throw new ContrastError(`${name}: ${err.message}`, {
          code: err.code,
          ...(err.hint ? { hint: err.hint } : {}),
        });
      }
      throw err;
    }
    const merged = mergeUserFiles(outcomes.map((o) => o.users));
    const { user, warnings } = resolveImageUser(
      resolved.config.config?.User ?? '',
      merged.passwd,
      merged.group,
    );
    const allWarnings = [...merged.warnings, ...warnings];
    for (const w of allWarnings) log.warn(`${name}: ${w}`);
    const layerAnalysis: LayerAnalysis[] = resolved.layers.map((d, i) => ({
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      ...outcomes[i]!.analysis,
    }));
    const entry: CachedImage = {
      imageRef: name,
      layers: layerAnalysis.map((l) => ({ diffId: l.diffId, compressedSize: l.size })),
    };
    // A warm run finds every entry as it was: rewriting the file (lock, temp file, fsync, rename) then
    // changed nothing and cost ~15 ms of a ~0.45 s run.
    if (!sameImageEntry((await this.loadCache()).images.get(name), entry)) this.newImages.set(name, entry);
    return {
      ...resolved,
      layerAnalysis,
      user,
      passwd: merged.passwd,
      group: merged.group,
      warnings: allWarnings,
    };
  }

  private layer(image: ResolvedImage, d: Descriptor, diffId: string): Promise<LayerOutcome> {
    const key = `${d.digest} ${diffId}`;
    let p = this.layers.get(key);
    if (!p) {
      p = this.layerUncached(image, d, diffId);
      this.layers.set(key, p);
    }
    return p;
  }

  private async layerUncached(image: ResolvedImage, d: Descriptor, diffId: string): Promise<LayerOutcome> {
    const cache = await this.loadCache();
    const hit = this.newLayers.get(diffId) ?? cache.layers.get(diffId);
    if (hit && (!this.verity || (this.verityCacheable && hit.verityHash))) {
      return {
        analysis: {
          diffId,
          uncompressedSize: hit.uncompressedSize,
          ...(this.verity ? { verityRoot: hit.verityHash! } : {}),
        },
        users: hit.users,
      };
    }
    return this.limit(async () => {
      const task = this.progress?.task(`layer ${d.digest.slice(0, 19)}`, d.size);
      try {
        // analyzeLayerStream checks the blob's size and digest and refuses a mismatch: the registry
        // client checks the size only instead of hashing the same bytes a second time.
        const stream = await this.client.openBlob(image.reference, d, Infinity, {
          digestCheckedByCaller: true,
        });
        this.fetchedLayers++;
        const r = await analyzeLayerStream(stream, d, diffId, {
          ...this.passOptions,
          onProgress: (n) => task?.update(n),
        });
        task?.done();
        const entry: CachedLayer = {
          diffId: r.diffId,
          uncompressedSize: r.uncompressedSize,
          users: r.users,
          ...(r.verityRoot !== undefined && this.verityCacheable ? { verityHash: r.verityRoot } : {}),
        };
        this.newLayers.set(r.diffId, entry);
        return {
          analysis: {
            diffId: r.diffId,
            uncompressedSize: r.uncompressedSize,
            ...(r.verityRoot !== undefined ? { verityRoot: r.verityRoot } : {}),
          },
          users: r.users,
        };
      } catch (err) {
        task?.fail();
        throw err;
      }
    });
  }
}

function sameImageEntry(a: CachedImage | undefined, b: CachedImage): boolean {
  return (
    a !== undefined &&
    a.layers.length === b.layers.length &&
    a.layers.every(
      (l, i) => l.diffId === b.layers[i]!.diffId && l.compressedSize === b.layers[i]!.compressedSize,
    )
  );
}
