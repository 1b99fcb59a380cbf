// Pull-side registry client: manifests (index → platform), configs and layer streams, all verified
// against their digests, fetched through mirrors from registries.conf while keeping the original name.
import { terminalSafe } from '../internal/terminal.js';
import { Readable } from 'node:stream';
import { parseReference, repositoryName, type Reference } from '../reference/index.js';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { Deadline, blobBudgetMs, defaultDeadlines, formatSeconds, type Deadlines } from './deadline.js';
import { DigestVerifier, digestOf, parseDigest, verifyBytes } from './digest.js';
import { headerValue, readText, type SendResult } from './http.js';
import { isNonDistributable, manifestAccept, maxManifestBytes, parseManifest } from './manifest.js';
import { defaultPlatform, formatPlatform, platformMatches, selectPlatform } from './platform.js';
import { loadRegistriesConf, pullSources, type PullSource, type RegistriesConf } from './registries-conf.js';
import { RegistryError } from './registry-error.js';
import { backoffDelay, defaultRetryPolicy, isRetryableError, networkErrorCode, sleep } from './retry.js';
import { MetadataCache } from './metadata-cache.js';
import { PingCache } from './ping-cache.js';
import {
  RegistryTransport,
  credentialUse,
  type RegistryResponse,
  type TransportOptions,
} from './transport.js';
import type { CredentialUse, Descriptor, ImageConfigFile, Platform, ResolvedImage } from './types.js';

export interface RegistryClientOptions extends TransportOptions {
  /** registries.conf path (else CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf if present). */
  registriesConf?: string;
  /** An already parsed registries.conf (takes precedence over `registriesConf`). */
  registriesConfig?: RegistriesConf;
  /** Default platform for `resolveImage` (linux/amd64 when unset). */
  platform?: Platform;
  /** Shorthand for `retry.maxRetries`. */
  maxRetries?: number;
  /** Environment for proxies, registries.conf and NODE_EXTRA_CA_CERTS lookup (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Largest config blob read into memory. */
  maxConfigBytes?: number;
  /** Overall deadlines per blob (size / minimum throughput) and per manifest or config request. */
  deadlines?: Partial<Deadlines>;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
  credential: CredentialUse;
  /** Where it came from (a mirror when registries.conf has one). */
  source: { registry: string; repository: string; mirror: boolean };
}

interface CachedManifest {
  bytes: Uint8Array;
  mediaType: string;
  credential: CredentialUse;
  source: FetchedManifest['source'];
}

/** Stored in the user's reference order; resuming an interrupted blob counts against this. */
const maxBlobResumes = 3;

function toReference(ref: string | Reference): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

function display(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

async function readCapped(body: SendResult['body'], cap: number, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) {
      body.destroy();
      throw new ContrastError(`${what}: larger than the ${cap}-byte limit`, { code: 'TOO_LARGE' });
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The Content-Type without parameters ('' when absent). */
function mediaTypeOf(res: SendResult): string {
  return (headerValue(res.headers, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
}

export class RegistryClient {
  readonly transport: RegistryTransport;
  private readonly options: RegistryClientOptions;
  private conf: RegistriesConf | undefined;
  private readonly manifests = new Map<string, CachedManifest>();
  private readonly configs = new Map<string, Promise<ImageConfigFile>>();
  private readonly tagDigests = new Map<string, string>();
  private readonly inflightManifests = new Map<string, Promise<FetchedManifest>>();
  /** Registries (host[:port]) that answered 405/501 to a manifest HEAD: they get a GET right away. */
  private readonly headRefused = new Set<string>();
  /** Index of the pull source that last worked per repository, tried first next time. */
  private readonly preferredSource = new Map<string, number>();
  private metadataCache: MetadataCache | undefined;
  private readonly deadlines: Deadlines;

  constructor(options: RegistryClientOptions = {}) {
    this.options = options;
    const retry = {
      ...options.retry,
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
    };
    this.deadlines = { ...defaultDeadlines, ...options.deadlines };
    this.transport = new RegistryTransport({
      ...options,
      retry,
      requestDeadlineMs: this.deadlines.requestMs,
    });
  }

  /** The total deadline of one manifest or config request. */
  private requestDeadline(what: string): Deadline {
    const ms = this.deadlines.requestMs;
    return new Deadline(
      ms,
      () =>
        new ContrastError(`${what}: no complete answer within ${formatSeconds(ms)}`, {
          code: 'DEADLINE',
          hint: 'the registry is stalled or trickling data; --request-deadline changes the limit',
        }),
    );
  }

  /** Keeps manifests and configs in `dir` between runs (undefined: only in memory). */
  useMetadataCache(dir: string | undefined, readOnly = false): void {
    this.metadataCache = dir ? new MetadataCache(dir, readOnly) : undefined;
    // What pings learned goes beside them, so a warm run sends no /v2/ ping (ping-cache.ts).
    this.transport.usePingCache(dir ? new PingCache(dir, readOnly) : undefined);
  }

  requestCount(): number {
    return this.transport.requestCount();
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private registriesConf(): RegistriesConf {
    this.conf ??=
      this.options.registriesConfig ?? loadRegistriesConf(this.options.registriesConf, this.options.env);
    return this.conf;
  }

  /** Pull sources for a reference, the one that worked last time first. */
  private sources(ref: Reference): PullSource[] {
    const list = pullSources(this.registriesConf(), ref.domain, ref.path, ref.digest !== undefined);
    for (const s of list) if (s.insecure) this.transport.addInsecure(s.domain);
    const pref = this.preferredSource.get(repositoryName(ref));
    if (pref !== undefined && pref > 0 && pref < list.length) {
      const [p] = list.splice(pref, 1);
      list.unshift(p as PullSource);
    }
    return list;
  }

  /** Runs `fn` against each source until one succeeds; the primary's error wins when all fail. */
  private async withSources<T>(
    ref: Reference,
    fn: (src: PullSource) => Promise<T>,
    what: string = display(ref),
  ): Promise<T> {
    const errors: unknown[] = [];
    const all = pullSources(this.registriesConf(), ref.domain, ref.path, ref.digest !== undefined);
    const ordered = this.sources(ref);
    let primaryError: unknown;
    let lastError: unknown;
    for (const src of ordered) {
      try {
        const out = await fn(src);
        this.preferredSource.set(
          repositoryName(ref),
          all.findIndex((s) => s.domain === src.domain && s.path === src.path),
        );
        return out;
      } catch (err) {
        lastError = err;
        errors.push(err);
        if (!src.mirror) primaryError = err;
        if (ordered.length > 1)
          log.debug(
            `${src.mirror ? 'mirror' : 'registry'} ${src.domain}/${src.path} failed: ${errorMessage(err)}`,
          );
        // A digest mismatch from the primary is not cured by asking elsewhere, but a mirror's might be.
      }
    }
    if (ordered.length > 1) {
      // One line per endpoint, in the order tried: a mirror's 404 matters as much as the primary's
      // DNS failure, and without it the user cannot tell which endpoint to fix.
      const first = primaryError ?? lastError;
      const lines = ordered.map((src, i) => {
        const err = errors[i];
        const text = errorMessage(err).split('\n')[0] ?? '';
        return `  ${i + 1}. ${src.mirror ? 'mirror' : 'registry'} ${src.domain}/${src.path}: ${text.replace(/^(manifest|blob|config) \S+: /, '')}`;
      });
      const message = `${what}: every endpoint failed:\n${lines.join('\n')}`;
      const hint = first instanceof ContrastError && first.hint ? { hint: first.hint } : {};
      // Callers branch on the primary's status (a 404 blob with urls is a foreign layer): keep it.
      if (first instanceof RegistryError) {
        throw new RegistryError(message, first.status, first.registryCodes, { code: first.code, ...hint });
      }
      throw new ContrastError(message, {
        code: first instanceof ContrastError ? first.code : 'UNREACHABLE',
        cause: first,
        ...hint,
      });
    }
    throw primaryError ?? lastError;
  }

  /** The manifest (or index) a reference names, exactly as served and digest-verified. */
  async fetchManifest(input: string | Reference): Promise<FetchedManifest> {
    const ref = toReference(input);
    const what = `manifest ${display(ref)}`;
    return this.withSources(
      ref,
      (src) => this.manifestFrom(src, ref, ref.digest ?? ref.tag ?? 'latest', undefined, what),
      what,
    );
  }

  /** Fetches `tagOrDigest` from one source; concurrent fetches of one digest share a request. */
  private manifestFrom(
    src: PullSource,
    ref: Reference,
    tagOrDigest: string,
    expected: Descriptor | undefined,
    what: string,
  ): Promise<FetchedManifest> {
    if (!tagOrDigest.includes(':')) return this.manifestFromUncached(src, ref, tagOrDigest, expected, what);
    const key = `${repositoryName(ref)}@${tagOrDigest}@${src.domain}/${src.path}`;
    let p = this.inflightManifests.get(key);
    if (!p) {
      p = this.manifestFromUncached(src, ref, tagOrDigest, expected, what).finally(() =>
        this.inflightManifests.delete(key),
      );
      this.inflightManifests.set(key, p);
    }
    return p;
  }

  /** A pull request for `/v2/<repo>/manifests/<tagOrDigest>` accepting every manifest type we parse. */
  private requestManifest(
    src: PullSource,
    tagOrDigest: string,
    method: 'GET' | 'HEAD',
    what: string,
    expect?: number[],
    signal?: AbortSignal,
  ): Promise<RegistryResponse> {
    return this.transport.request({
      registry: src.domain,
      repository: src.path,
      actions: ['pull'],
      method,
      path: `/v2/${src.path}/manifests/${tagOrDigest}`,
      headers: { accept: manifestAccept },
      ...(expect ? { expect } : {}),
      ...(signal ? { signal } : {}),
      what,
    });
  }

  /** By-tag lookups go through a HEAD once a tag was seen, so a warm resolve costs one cheap request. */
  private async manifestFromUncached(
    src: PullSource,
    ref: Reference,
    tagOrDigest: string,
    expected: Descriptor | undefined,
    what: string,
  ): Promise<FetchedManifest> {
    const name = repositoryName(ref);
    const byDigest = tagOrDigest.includes(':');
    const source = { registry: src.domain, repository: src.path, mirror: src.mirror };
    if (byDigest) {
      const hit =
        this.manifests.get(`${name}@${tagOrDigest}`) ?? (await this.fromDisk(src, name, tagOrDigest));
      if (hit) {
        if (expected) verifyBytes(hit.bytes, tagOrDigest, expected.size, what);
        return { ...hit, digest: tagOrDigest };
      }
    } else {
      const tagKey = `${name}:${tagOrDigest}@${src.domain}/${src.path}`;
      const known = this.tagDigests.get(tagKey);
      const cached = known || (await this.metadataCache?.holds(`${src.domain}/${src.path}`));
      if (cached && !this.headRefused.has(src.domain)) {
        // Tags move; a HEAD (free on Docker Hub's rate limit) tells us whether the cached copy is current.
        // Without a copy to compare (a repository's first run) the GET comes right away: on a cold
        // run the HEAD was one more round trip before the image's config, and all configs come
        // before the first layer.
        const head = await this.headManifest(src, tagOrDigest, what, [200, 404]);
        const digest = head && headerValue(head.headers, 'docker-content-digest');
        if (head?.status === 200 && digest) {
          parseDigest(digest);
          const hit = this.manifests.get(`${name}@${digest}`) ?? (await this.fromDisk(src, name, digest));
          if (hit) {
            this.tagDigests.set(tagKey, digest);
            return { ...hit, digest };
          }
        }
      }
    }
    const deadline = this.requestDeadline(what);
    let bytes: Uint8Array;
    let res: RegistryResponse;
    try {
      res = await this.requestManifest(src, tagOrDigest, 'GET', what, undefined, deadline.signal);
      const length = Number(headerValue(res.headers, 'content-length') ?? '0');
      if (length > maxManifestBytes) {
        await res.body.dump().catch(() => undefined);
        throw new ContrastError(
          `${what}: manifest of ${length} bytes exceeds the ${maxManifestBytes}-byte limit`,
          {
            code: 'TOO_LARGE',
          },
        );
      }
      bytes = await readCapped(res.body, maxManifestBytes, what);
    } finally {
      deadline.stop();
    }
    const mediaType = mediaTypeOf(res);
    let digest: string;
    if (byDigest) {
      verifyBytes(bytes, tagOrDigest, expected?.size, what);
      digest = tagOrDigest;
    } else {
      const served = headerValue(res.headers, 'docker-content-digest');
      if (served) {
        verifyBytes(bytes, served, undefined, `${what} (Docker-Content-Digest)`);
        digest = served;
      } else {
        digest = digestOf(bytes);
      }
      this.tagDigests.set(`${name}:${tagOrDigest}@${src.domain}/${src.path}`, digest);
      // Same bytes as a cached copy (a registry without HEAD): keep the cached entry, so everything
      // derived from it stays shared.
      const hit = this.manifests.get(`${name}@${digest}`);
      if (hit) return { ...hit, digest };
    }
    const entry: CachedManifest = { bytes, mediaType, credential: res.credential, source };
    this.manifests.set(`${name}@${digest}`, entry);
    await this.metadataCache?.put(`${source.registry}/${source.repository}`, digest, bytes, mediaType);
    return { ...entry, digest };
  }

  /** A manifest from the on-disk cache (digest re-verified by the cache), entered in memory too. */
  private async fromDisk(src: PullSource, name: string, digest: string): Promise<CachedManifest | undefined> {
    const disk = await this.metadataCache?.get(`${src.domain}/${src.path}`, digest);
    if (!disk) return undefined;
    // No request is made: report the credential that would have been used.
    const credential = credentialUse(await this.transport.credential(src.domain, src.path));
    const source = { registry: src.domain, repository: src.path, mirror: src.mirror };
    const entry: CachedManifest = { bytes: disk.bytes, mediaType: disk.mediaType, credential, source };
    this.manifests.set(`${name}@${digest}`, entry);
    log.debug(`manifest ${name}@${digest} from the metadata cache (${this.metadataCache!.dir})`);
    return entry;
  }

  /**
   * A manifest HEAD, or undefined when the registry refuses HEAD (405/501); that answer is remembered
   * so later lookups on that registry go straight to GET instead of paying for a refused HEAD each time.
   */
  private async headManifest(
    src: PullSource,
    tagOrDigest: string,
    what: string,
    expect: number[],
  ): Promise<RegistryResponse | undefined> {
    if (this.headRefused.has(src.domain)) return undefined;
    const deadline = this.requestDeadline(what);
    let head: RegistryResponse;
    try {
      head = await this.requestManifest(
        src,
        tagOrDigest,
        'HEAD',
        what,
        [...expect, 405, 501],
        deadline.signal,
      );
      await head.body.dump();
    } finally {
      deadline.stop();
    }
    if (head.status !== 405 && head.status !== 501) return head;
    this.headRefused.add(src.domain);
    log.debug(`${src.domain} refuses HEAD on manifests (HTTP ${head.status}); using GET from now on`);
    return undefined;
  }

  /**
   * The digest a reference currently points to, by HEAD (free on Docker Hub's rate limit); falls back
   * to a GET when the registry sends no Docker-Content-Digest or refuses HEAD.
   */
  async manifestDigest(input: string | Reference): Promise<{ digest: string; mediaType: string }> {
    const ref = toReference(input);
    const what = `manifest ${display(ref)}`;
    return this.withSources(
      ref,
      async (src) => {
        const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
        const head = await this.headManifest(src, tagOrDigest, what, [200]);
        const digest = head && headerValue(head.headers, 'docker-content-digest');
        if (head && digest) {
          parseDigest(digest);
          if (ref.digest && digest !== ref.digest) {
            throw new ContrastError(`${what}: registry reports digest ${digest} for ${ref.digest}`, {
              code: 'DIGEST_MISMATCH',
            });
          }
          return { digest, mediaType: mediaTypeOf(head) };
        }
        const m = await this.manifestFrom(src, ref, tagOrDigest, undefined, what);
        return { digest: m.digest, mediaType: m.mediaType };
      },
      what,
    );
  }

  /** Manifest + config for one platform (an index is resolved to `platform`, default linux/amd64). */
  async resolveImage(
    input: string | Reference,
    options: { platform?: Platform } = {},
  ): Promise<ResolvedImage> {
    const ref = toReference(input);
    const wanted = options.platform ?? this.options.platform ?? defaultPlatform;
    const what = display(ref);
    const top = await this.fetchManifest(ref);
    let parsed = parseManifest(top.bytes, top.mediaType, `manifest ${what}`);
    let current = top;
    let indexDigest: string | undefined;
    let selected: Descriptor | undefined;
    if (parsed.kind === 'index') {
      selected = selectPlatform(parsed.manifests, wanted, `image index ${what}`);
      indexDigest = top.digest;
      const childWhat = `manifest ${what} (${formatPlatform(wanted)}: ${selected.digest})`;
      const desc = selected;
      current = await this.withSources(
        { ...ref, digest: desc.digest },
        (src) => this.manifestFrom(src, ref, desc.digest, desc, childWhat),
        childWhat,
      );
      parsed = parseManifest(current.bytes, current.mediaType || desc.mediaType, childWhat);
      if (parsed.kind === 'index') {
        throw new ContrastError(`${childWhat}: nested image indexes are not supported`, {
          code: 'MANIFEST_UNSUPPORTED',
        });
      }
    }
    const config = await this.fetchConfig(ref, parsed.config);
    const platform: Platform = {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant
        ? { variant: config.variant }
        : selected?.platform?.variant
          ? { variant: selected.platform.variant }
          : {}),
    };
    if (!selected && !platformMatches(wanted, platform)) {
      log.warn(
        `${what} is a single-platform image for ${formatPlatform(platform)}, not ${formatPlatform(wanted)}`,
      );
    }
    return {
      reference: ref,
      digest: current.digest,
      ...(indexDigest ? { indexDigest } : {}),
      mediaType: parsed.mediaType,
      manifestBytes: current.bytes,
      platform,
      configDigest: parsed.config.digest,
      config,
      layers: parsed.layers,
      credential: current.credential,
    };
  }

  /** The image config blob, verified and parsed. */
  async fetchConfig(input: string | Reference, descriptor: Descriptor): Promise<ImageConfigFile> {
    const ref = toReference(input);
    const key = `${repositoryName(ref)}@${descriptor.digest}`;
    let p = this.configs.get(key);
    if (!p) {
      // Shared promise: concurrent resolves of images with the same config fetch it once.
      p = this.loadConfig(ref, descriptor);
      p.catch(() => this.configs.delete(key));
      this.configs.set(key, p);
    }
    return p;
  }

  private async loadConfig(ref: Reference, descriptor: Descriptor): Promise<ImageConfigFile> {
    const maxBytes = this.options.maxConfigBytes ?? 64 * 1024 * 1024;
    const repository = `${ref.domain}/${ref.path}`;
    let bytes = (await this.metadataCache?.get(repository, descriptor.digest))?.bytes;
    if (bytes && bytes.length !== descriptor.size) bytes = undefined;
    if (!bytes) {
      bytes = await this.fetchBlob(ref, descriptor, maxBytes);
      await this.metadataCache?.put(repository, descriptor.digest, bytes, '');
    }
    let config: ImageConfigFile;
    try {
      config = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageConfigFile;
    } catch {
      throw new ContrastError(`config ${descriptor.digest} of ${display(ref)} is not valid JSON`, {
        code: 'CONFIG_INVALID',
      });
    }
    if (
      !config ||
      typeof config !== 'object' ||
      typeof config.os !== 'string' ||
      typeof config.architecture !== 'string'
    ) {
      throw new ContrastError(`config ${descriptor.digest} of ${display(ref)} lacks os/architecture`, {
        code: 'CONFIG_INVALID',
      });
    }
    return config;
  }

  /** A whole (small) blob in memory, verified. */
  async fetchBlob(input: string | Reference, descriptor: Descriptor, maxBytes: number): Promise<Uint8Array> {
    if (descriptor.size > maxBytes) {
      throw new ContrastError(
        `blob ${descriptor.digest} is ${descriptor.size} bytes, over the ${maxBytes}-byte limit`,
        {
          code: 'TOO_LARGE',
        },
      );
    }
    const stream = await this.openBlob(input, descriptor, this.deadlines.requestMs);
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return new Uint8Array(Buffer.concat(chunks));
  }

  /**
   * Streams a blob. The promise rejects for errors before the first byte (404, auth); afterwards the
   * stream errors — always before 'end' — on a size or digest mismatch or when the connection breaks
   * more often than we resume. Interrupted downloads resume with a Range request.
   * `digestCheckedByCaller`: the caller hashes the bytes and refuses a mismatch itself (the layer
   * pass), so only the size is checked here and the blob is not hashed twice.
   */
  async openBlob(
    input: string | Reference,
    descriptor: Descriptor,
    maxMs = Infinity,
    options: { digestCheckedByCaller?: boolean } = {},
  ): Promise<Readable> {
    const ref = toReference(input);
    parseDigest(descriptor.digest);
    const what = `blob ${descriptor.digest} of ${display(ref)}`;
    const verifier = new DigestVerifier(descriptor.digest, descriptor.size, what, {
      hash: options.digestCheckedByCaller !== true,
    });
    const deadline = this.blobDeadline(descriptor.size, what, verifier, maxMs);
    const signal = deadline.signal;
    let refetch: (offset: number) => Promise<SendResult>;
    let first: SendResult;
    try {
      first = await this.withSources(
        ref,
        async (src) => {
          const fetchFrom = (offset: number): Promise<RegistryResponse> =>
            this.transport.request({
              registry: src.domain,
              repository: src.path,
              actions: ['pull'],
              method: 'GET',
              path: `/v2/${src.path}/blobs/${descriptor.digest}`,
              headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
              expect: offset > 0 ? [200, 206] : [200],
              signal,
              what,
            });
          const res = await fetchFrom(0);
          refetch = fetchFrom;
          return res;
        },
        what,
      );
    } catch (err) {
      if (!(err instanceof RegistryError && err.status === 404 && descriptor.urls?.length)) {
        deadline.stop();
        throw err;
      }
      try {
        ({ first, refetch } = await this.foreignLayer(descriptor, what, signal));
      } catch (foreignErr) {
        deadline.stop();
        throw foreignErr;
      }
    }
    return Readable.from(
      this.blobChunks(first, (o) => refetch(o), verifier, what, deadline),
      { objectMode: false },
    );
  }

  /** Size / minimum throughput plus a base allowance, for the whole download including resumes. */
  private blobDeadline(size: number, what: string, verifier: DigestVerifier, maxMs: number): Deadline {
    const d = this.deadlines;
    const ms = Math.min(blobBudgetMs(size, d), maxMs);
    return new Deadline(
      ms,
      () =>
        new ContrastError(
          `${what}: not complete after ${formatSeconds(ms)} (${verifier.bytesReceived} of ${size} bytes; the limit allows ${formatSeconds(d.blobBaseMs)} plus ${Math.round(d.minBlobBytesPerSecond / 1024)} KiB/s)`,
          {
            code: 'DEADLINE',
            hint: 'the registry or its storage is stalled or trickling data; --min-blob-throughput and --request-deadline change the limits',
          },
        ),
    );
  }

  /** Layers with `urls` that the registry does not hold: fetched without any credentials. */
  private async foreignLayer(
    descriptor: Descriptor,
    what: string,
    signal: AbortSignal,
  ): Promise<{ first: SendResult; refetch: (o: number) => Promise<SendResult> }> {
    if (!isNonDistributable(descriptor.mediaType)) log.debug(`${what}: not in the registry; trying its urls`);
    let lastErr: unknown;
    for (const u of descriptor.urls ?? []) {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        continue;
      }
      if (url.protocol !== 'https:' && !this.transport.isInsecure(url.host)) continue;
      const get = async (offset: number): Promise<SendResult> => {
        const res = await this.transport.http.send(url, {
          method: 'GET',
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          signal,
          what: `${what} (foreign URL ${url.host})`,
        });
        if (res.status !== 200 && res.status !== 206) {
          const text = await readText(res.body);
          throw new ContrastError(
            `${what}: foreign URL ${url.origin} answered HTTP ${res.status}: ${terminalSafe(text.slice(0, 200))}`,
            {
              code: 'FOREIGN_LAYER',
            },
          );
        }
        return res;
      };
      try {
        return { first: await get(0), refetch: get };
      } catch (err) {
        lastErr = err;
      }
    }
    throw (
      lastErr ??
      new ContrastError(`${what}: not in the registry and no usable https URL`, { code: 'FOREIGN_LAYER' })
    );
  }

  private async *blobChunks(
    first: SendResult,
    refetch: (offset: number) => Promise<SendResult>,
    verifier: DigestVerifier,
    what: string,
    deadline: Deadline,
  ): AsyncGenerator<Buffer> {
    try {
      yield* this.blobChunksUntil(first, refetch, verifier, what);
    } finally {
      deadline.stop();
    }
  }

  private async *blobChunksUntil(
    first: SendResult,
    refetch: (offset: number) => Promise<SendResult>,
    verifier: DigestVerifier,
    what: string,
  ): AsyncGenerator<Buffer> {
    let res = first;
    let offset = 0;
    let resumes = 0;
    for (;;) {
      let skip = 0;
      if (offset > 0) {
        if (res.status === 206) {
          const range = headerValue(res.headers, 'content-range') ?? '';
          if (!range.startsWith(`bytes ${offset}-`)) {
            res.body.destroy();
            throw new ContrastError(
              `${what}: resumed download returned range "${range}", wanted bytes ${offset}-`,
              {
                code: 'BLOB_RANGE',
              },
            );
          }
        } else {
          skip = offset; // server ignored Range: drop what we already have
        }
      }
      try {
        for await (const raw of res.body as AsyncIterable<Buffer>) {
          let chunk = raw;
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          verifier.update(chunk);
          offset += chunk.length;
          yield chunk;
        }
        break;
      } catch (err) {
        if (err instanceof ContrastError) throw err;
        if (!isRetryableError(err) || resumes >= maxBlobResumes) {
          throw new ContrastError(
            `${what}: download interrupted after ${offset} of ${verifier.expectedSize ?? '?'} bytes (${networkErrorCode(err) ?? errorMessage(err)})`,
            { code: 'BLOB_INTERRUPTED', cause: err },
          );
        }
        resumes++;
        const delay = backoffDelay(resumes - 1, defaultRetryPolicy) / 4;
        log.debug(`${what}: ${networkErrorCode(err)} after ${offset} bytes; resuming in ${delay} ms`);
        await sleep(delay);
        res = await refetch(offset);
      }
    }
    verifier.finish();
  }
}
