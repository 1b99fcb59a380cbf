// `contrast mirror`: copies images to another registry byte for byte, so every digest (index,
// platform manifests, configs, layers) stays the same and pinned references keep working with only
// the repository name swapped. Order is bottom-up (blobs, then platform manifests, then the index,
// then the tag), so an interrupted run never leaves a manifest whose content is missing, and a rerun
// skips everything the target already has (HEAD) — that is how it resumes.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { limit, type Limit } from '../internal/limit.js';
import { log } from '../internal/log.js';
import { formatReference, parseReference, type Reference } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import { isNonDistributable, parseManifest } from './manifest.js';
import { defaultPlatform, formatPlatform, isAttestation, platformMatches } from './platform.js';
import {
  blobExists,
  manifestDigest,
  mountBlob,
  putManifest,
  uploadBlob,
  type PushTarget,
  type UploadOptions,
} from './push.js';
import type { Descriptor, Platform } from './types.js';

export interface MirrorOptions {
  /** `registry[/prefix]`: image `host/a/b:t` goes to `registry/prefix/a/b:t`. */
  to: string;
  /** Copy the whole index (every platform, attestations included). */
  allPlatforms?: boolean;
  /** Platforms to copy from an index (default linux/amd64, what policies are generated for). */
  platforms?: Platform[];
  /** Blobs copied in parallel (default 4). */
  concurrency?: number;
  upload?: Omit<UploadOptions, 'onBytes' | 'location'>;
  /** Stops between steps (Ctrl-C); what finished stays and is skipped next time. */
  signal?: AbortSignal;
  onEvent?: (event: MirrorEvent) => void;
}

export type MirrorEvent =
  | { type: 'blob-start'; digest: string; size: number; target: string }
  | { type: 'blob-progress'; digest: string; sent: number; size: number; target: string }
  | {
      type: 'blob-done';
      digest: string;
      size: number;
      target: string;
      how: 'copied' | 'skipped' | 'mounted' | 'foreign';
    }
  | { type: 'blob-failed'; digest: string; size: number; target: string }
  | { type: 'manifest-done'; digest: string; target: string; how: 'pushed' | 'skipped' };

export interface MirroredImage {
  /** The image as the user wrote it (the key of the image-replacements line). */
  source: string;
  /** `registry/prefix/path[:tag]@digest` in the mirror. */
  target: string;
  digest: string;
  /** Platforms copied (empty for a single-platform image whose config was not inspected). */
  platforms: string[];
}

export interface MirrorStats {
  blobsCopied: number;
  bytesCopied: number;
  blobsSkipped: number;
  bytesSkipped: number;
  blobsMounted: number;
  bytesMounted: number;
  manifestsPushed: number;
  manifestsSkipped: number;
}

export interface MirrorResult {
  images: MirroredImage[];
  stats: MirrorStats;
}

export interface MirrorTarget {
  registry: string;
  prefix: string;
}

/** Parses `--to`: `registry[/prefix]` (the registry part is required and must look like a host). */
export function parseMirrorTarget(to: string): MirrorTarget {
  const trimmed = to
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const registry = (slash === -1 ? trimmed : trimmed.slice(0, slash)).toLowerCase();
  const prefix = slash === -1 ? '' : trimmed.slice(slash + 1);
  if (!registry || !(/[.:]/.test(registry) || registry === 'localhost')) {
    throw new ContrastError(`--to "${to}": expected registry[/prefix], e.g. registry.example.com/mirror`, {
      code: 'MIRROR_TARGET',
    });
  }
  // Validates the prefix with the reference grammar (lowercase components etc.).
  parseReference(`${registry}/${prefix ? `${prefix}/` : ''}x`);
  return { registry, prefix };
}

/** Where an image goes: `<registry>/<prefix>/<source path>`. */
export function mirrorRepository(ref: Reference, target: MirrorTarget): PushTarget {
  return { registry: target.registry, repository: target.prefix ? `${target.prefix}/${ref.path}` : ref.path };
}

/** `original=mirror@sha256:…` lines, the format `contrast generate --image-replacements` reads. */
export function formatReplacements(images: readonly MirroredImage[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const img of images) {
    if (seen.has(img.source)) continue;
    seen.add(img.source);
    lines.push(`${img.source}=${img.target}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function emptyStats(): MirrorStats {
  return {
    blobsCopied: 0,
    bytesCopied: 0,
    blobsSkipped: 0,
    bytesSkipped: 0,
    blobsMounted: 0,
    bytesMounted: 0,
    manifestsPushed: 0,
    manifestsSkipped: 0,
  };
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new ContrastError(
      'mirror interrupted; run the same command again to resume (finished blobs and manifests are skipped)',
      {
        code: 'MIRROR_INTERRUPTED',
      },
    );
  }
}

interface Source {
  input: string;
  ref: Reference;
}

/**
 * Mirrors every image (deduplicated) to `options.to`. Credentials: the client's transport resolves
 * them per registry, so the source is read with the source's credentials and the target written
 * with the target's (from the same docker/podman config, helpers or --authfile).
 */
export class Mirror {
  readonly stats = emptyStats();
  private readonly target: MirrorTarget;
  private readonly limit: Limit;
  /** Blob transfers per `repository@digest`, so shared layers go once. */
  private readonly blobs = new Map<string, Promise<void>>();
  /** A repository of the target registry known to hold each blob (mount source for the next repo). */
  private readonly holders = new Map<string, string>();

  constructor(
    private readonly client: RegistryClient,
    private readonly options: MirrorOptions,
  ) {
    this.target = parseMirrorTarget(options.to);
    this.limit = limit(options.concurrency ?? 4);
  }

  async run(inputs: readonly string[]): Promise<MirrorResult> {
    const sources: Source[] = [];
    const seen = new Set<string>();
    for (const input of inputs) {
      if (seen.has(input)) continue;
      seen.add(input);
      sources.push({ input, ref: parseReference(input) });
    }
    this.checkCollisions(sources);
    // Images in parallel too (bounded separately, so manifests of many small images overlap);
    // the blob limiter bounds the transfers. The first failure is reported once all have settled.
    const imageLimit = limit(this.options.concurrency ?? 4);
    const settled = await Promise.allSettled(
      sources.map((src) =>
        imageLimit(() => {
          checkAborted(this.options.signal);
          return this.mirrorImage(src);
        }),
      ),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return {
      images: settled.map((r) => (r as PromiseFulfilledResult<MirroredImage>).value),
      stats: this.stats,
    };
  }

  private checkCollisions(sources: Source[]): void {
    const byTarget = new Map<string, Source>();
    for (const s of sources) {
      const t = mirrorRepository(s.ref, this.target);
      const key = `${t.repository}:${s.ref.tag ?? ''}@${s.ref.digest ?? ''}`;
      const other = byTarget.get(key);
      if (other && other.ref.domain !== s.ref.domain) {
        throw new ContrastError(
          `${other.input} and ${s.input} would both be mirrored to ${this.target.registry}/${t.repository}${s.ref.tag ? `:${s.ref.tag}` : ''}`,
          { code: 'MIRROR_COLLISION', hint: 'mirror them in separate runs with different --to prefixes' },
        );
      }
      byTarget.set(key, s);
    }
  }

  private emit(e: MirrorEvent): void {
    this.options.onEvent?.(e);
  }

  private async mirrorImage(src: Source): Promise<MirroredImage> {
    const { ref } = src;
    const target = mirrorRepository(ref, this.target);
    const targetName = `${target.registry}/${target.repository}`;
    const top = await this.client.fetchManifest(ref);
    const parsed = parseManifest(top.bytes, top.mediaType, `manifest ${src.input}`);
    let pinned: { digest: string; bytes: Uint8Array; mediaType: string };
    const platforms: string[] = [];
    if (parsed.kind === 'index') {
      // A reference pinned to this index must stay valid in the mirror, so without an explicit
      // platform choice the whole index is copied; otherwise linux/amd64, what policies use.
      const keepIndex = ref.digest === top.digest && !this.options.platforms?.length;
      if (keepIndex && !this.options.allPlatforms)
        log.info(
          `${src.input} is pinned to an image index: copying every platform so the digest stays valid`,
        );
      const wanted =
        this.options.allPlatforms || keepIndex
          ? undefined
          : this.options.platforms?.length
            ? this.options.platforms
            : [defaultPlatform];
      const children = wanted
        ? parsed.manifests.filter(
            (d) =>
              d.platform &&
              !isAttestation(d) &&
              wanted.some((w) => platformMatches(w, d.platform as Platform)),
          )
        : parsed.manifests;
      if (wanted) {
        for (const w of wanted) {
          if (!children.some((d) => platformMatches(w, d.platform as Platform))) {
            const available = parsed.manifests
              .filter((d) => d.platform && !isAttestation(d))
              .map((d) => formatPlatform(d.platform as Platform));
            throw new ContrastError(
              `${src.input} has no image for platform ${formatPlatform(w)} (available: ${available.join(', ')})`,
              {
                code: 'PLATFORM_NOT_FOUND',
                hint: 'choose platforms with --platform, or copy everything with --all-platforms',
              },
            );
          }
        }
      }
      for (const child of children) {
        checkAborted(this.options.signal);
        const m = await this.client.fetchManifest({ ...ref, digest: child.digest });
        if (m.bytes.length !== child.size) {
          throw new ContrastError(
            `manifest ${child.digest} of ${src.input} is ${m.bytes.length} bytes, the index says ${child.size}`,
            {
              code: 'SIZE_MISMATCH',
            },
          );
        }
        await this.copyImageManifest(
          ref,
          target,
          m.bytes,
          m.mediaType || child.mediaType,
          child.digest,
          src.input,
        );
        if (child.platform && !isAttestation(child)) platforms.push(formatPlatform(child.platform));
      }
      if (wanted && wanted.length === 1) {
        // One platform: the mirror is referenced by that platform's manifest (its digest is unchanged).
        const child = children[0] as Descriptor;
        const m = await this.client.fetchManifest({ ...ref, digest: child.digest });
        pinned = { digest: child.digest, bytes: m.bytes, mediaType: m.mediaType || child.mediaType };
      } else {
        // Every platform, or several: the index itself, verbatim. A registry that checks index
        // references refuses a partial index; the error then says to use --all-platforms.
        checkAborted(this.options.signal);
        await this.putManifestOnce(
          target,
          top.digest,
          top.bytes,
          parsed.mediaType,
          src.input,
          children.length < parsed.manifests.length,
        );
        pinned = { digest: top.digest, bytes: top.bytes, mediaType: parsed.mediaType };
      }
    } else {
      await this.copyImageManifest(ref, target, top.bytes, parsed.mediaType, top.digest, src.input);
      pinned = { digest: top.digest, bytes: top.bytes, mediaType: parsed.mediaType };
    }
    if (ref.tag) {
      checkAborted(this.options.signal);
      // Tag last: it only ever names complete content. Pinned references get their tag too, so
      // registries that purge untagged manifests keep the mirror.
      const current = await manifestDigest(this.client.transport, target, ref.tag);
      if (current === pinned.digest) {
        this.stats.manifestsSkipped++;
      } else {
        await putManifest(
          this.client.transport,
          target,
          ref.tag,
          pinned.bytes,
          pinned.mediaType,
          pinned.digest,
        );
        this.stats.manifestsPushed++;
      }
    }
    const result: MirroredImage = {
      source: src.input,
      target: `${targetName}${ref.tag ? `:${ref.tag}` : ''}@${pinned.digest}`,
      digest: pinned.digest,
      platforms,
    };
    log.info(`${formatReference(ref)} -> ${result.target}`);
    return result;
  }

  /** Blobs (config + layers) in parallel, then the manifest by digest. */
  private async copyImageManifest(
    ref: Reference,
    target: PushTarget,
    bytes: Uint8Array,
    mediaType: string,
    digest: string,
    input: string,
  ): Promise<void> {
    checkAborted(this.options.signal);
    const parsed = parseManifest(bytes, mediaType, `manifest ${input} (${digest})`);
    if (parsed.kind !== 'manifest') {
      throw new ContrastError(`${input}: nested image indexes are not supported`, {
        code: 'MANIFEST_UNSUPPORTED',
      });
    }
    const blobs = [parsed.config, ...parsed.layers];
    if (await this.manifestPresent(target, digest)) {
      // Its blobs are there too (a registry accepts a manifest only when its blobs exist).
      for (const d of blobs) {
        const key = `${target.repository}@${d.digest}`;
        if (this.blobs.has(key)) continue;
        this.blobs.set(key, Promise.resolve());
        this.stats.blobsSkipped++;
        this.stats.bytesSkipped += d.size;
        this.holders.set(d.digest, target.repository);
      }
      return;
    }
    const results = await Promise.allSettled(blobs.map((d) => this.copyBlob(ref, target, d)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    checkAborted(this.options.signal);
    await putManifest(this.client.transport, target, digest, bytes, parsed.mediaType, digest);
    this.manifestDone(target, digest, 'pushed');
  }

  /** Counts a finished manifest and tells the progress display. */
  private manifestDone(target: PushTarget, digest: string, how: 'pushed' | 'skipped'): void {
    if (how === 'pushed') this.stats.manifestsPushed++;
    else this.stats.manifestsSkipped++;
    this.emit({ type: 'manifest-done', digest, target: `${target.registry}/${target.repository}`, how });
  }

  private async manifestPresent(target: PushTarget, digest: string): Promise<boolean> {
    const have = await manifestDigest(this.client.transport, target, digest);
    if (have === digest) {
      this.manifestDone(target, digest, 'skipped');
      return true;
    }
    return false;
  }

  private async putManifestOnce(
    target: PushTarget,
    digest: string,
    bytes: Uint8Array,
    mediaType: string,
    input: string,
    partial: boolean,
  ): Promise<void> {
    if (await this.manifestPresent(target, digest)) return;
    try {
      await putManifest(this.client.transport, target, digest, bytes, mediaType, digest);
    } catch (err) {
      if (!partial) throw err;
      throw new ContrastError(
        `${input}: the target refused the image index with only the selected platforms (${errorMessage(err)})`,
        {
          code: 'MIRROR_PARTIAL_INDEX',
          hint: 'use --all-platforms to copy the whole index, or a single --platform',
        },
      );
    }
    this.manifestDone(target, digest, 'pushed');
  }

  private copyBlob(ref: Reference, target: PushTarget, desc: Descriptor): Promise<void> {
    const key = `${target.repository}@${desc.digest}`;
    let p = this.blobs.get(key);
    if (!p) {
      p = this.limit(() => this.transferBlob(ref, target, desc));
      this.blobs.set(key, p);
    }
    return p;
  }

  private async transferBlob(ref: Reference, target: PushTarget, desc: Descriptor): Promise<void> {
    checkAborted(this.options.signal);
    const t = this.client.transport;
    const name = `${target.registry}/${target.repository}`;
    const done = (how: 'copied' | 'skipped' | 'mounted' | 'foreign'): void => {
      if (how === 'copied') {
        this.stats.blobsCopied++;
        this.stats.bytesCopied += desc.size;
      } else if (how === 'skipped') {
        this.stats.blobsSkipped++;
        this.stats.bytesSkipped += desc.size;
      } else if (how === 'mounted') {
        this.stats.blobsMounted++;
        this.stats.bytesMounted += desc.size;
      }
      if (how !== 'foreign') this.holders.set(desc.digest, target.repository);
      this.emit({ type: 'blob-done', digest: desc.digest, size: desc.size, target: name, how });
    };
    if (desc.urls?.length && isNonDistributable(desc.mediaType)) {
      // Foreign layers stay where their `urls` point (as skopeo does); the manifest references them.
      log.debug(`blob ${desc.digest}: non-distributable layer, not copied`);
      done('foreign');
      return;
    }
    if (await blobExists(t, target, desc.digest)) {
      done('skipped');
      return;
    }
    // Same registry: mount from the source repository (or from a target repository this run filled).
    const from = ref.domain.toLowerCase() === this.target.registry ? ref.path : this.holders.get(desc.digest);
    let location: string | undefined;
    if (from !== undefined && from !== target.repository) {
      const m = await mountBlob(t, target, desc.digest, from);
      if (m.mounted) {
        done('mounted');
        return;
      }
      location = m.location;
    }
    this.emit({ type: 'blob-start', digest: desc.digest, size: desc.size, target: name });
    try {
      await uploadBlob(t, target, desc, () => this.client.openBlob(ref, desc), {
        ...this.options.upload,
        ...(location ? { location } : {}),
        onBytes: (sent) =>
          this.emit({ type: 'blob-progress', digest: desc.digest, sent, size: desc.size, target: name }),
      });
    } catch (err) {
      this.emit({ type: 'blob-failed', digest: desc.digest, size: desc.size, target: name });
      throw err;
    }
    done('copied');
  }
}

/** Convenience wrapper: `new Mirror(client, options).run(images)`. */
export function mirrorImages(
  client: RegistryClient,
  images: readonly string[],
  options: MirrorOptions,
): Promise<MirrorResult> {
  return new Mirror(client, options).run(images);
}
