// Manifests, indexes and configs kept on disk between runs, by repository and digest. The repository
// is part of the key because a hit stands for "this registry serves these bytes under this name": a
// digest cached for one repository says nothing about another (which may not exist, or may not be
// readable with the same credential). Content-addressed data never
// goes stale, so a by-digest lookup that hits here needs no request at all (a warm `generate` of
// digest-pinned images touches no registry); by-tag lookups still cost one HEAD to learn the digest
// (none in a repository the cache holds nothing for: the GET follows anyway).
// Every read is verified against its digest again: a damaged or tampered file is a miss (and is
// removed), never trusted. Writes go to a unique temp file and are renamed into place, so
// concurrent runs sharing the directory never see half a file; two writers of one digest write the
// same bytes.
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceCacheFile } from '../internal/cache-files.js';
import { errorMessage } from '../internal/errors.js';
import { limit, type Limit } from '../internal/limit.js';
import { log } from '../internal/log.js';
import { digestOf, parseDigest } from './digest.js';

/** Largest entry kept (manifests are capped at 4 MiB; configs are rarely above 100 KiB). */
const maxEntryBytes = 8 * 1024 * 1024;

export interface CachedMetadata {
  bytes: Uint8Array;
  /** The Content-Type the registry served ('' for configs). */
  mediaType: string;
}

/**
 * Files of the cache open at once. A run resolves all its images concurrently; without a bound,
 * hundreds of distinct images would open as many files at the same moment and run out of
 * descriptors (EMFILE) — the thread pool serves four at a time anyway.
 */
const OPEN_FILES = 16;

export class MetadataCache {
  private readonly io: Limit = limit(OPEN_FILES);
  /** Directories made in this run: a cold run stores ~2 entries per image in a few directories. */
  private readonly made = new Map<string, Promise<unknown>>();

  /** `readOnly`: entries are read but never stored or removed (`--check` writes nothing). */
  constructor(
    readonly dir: string,
    readonly readOnly = false,
  ) {}

  /** `repository` is `registry/path` of where the bytes were served; hashed to one safe file name. */
  private file(repository: string, digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.scopeDir(repository), algorithm, hex);
  }

  private scopeDir(repository: string): string {
    return join(this.dir, createHash('sha256').update(repository).digest('hex').slice(0, 32));
  }

  /**
   * Whether anything was ever stored for `repository`. A tag's HEAD (to learn its digest) can only
   * lead to a hit here when this is true: a first run of a repository goes straight to the GET.
   */
  async holds(repository: string): Promise<boolean> {
    try {
      await this.io(() => access(this.scopeDir(repository)));
      return true;
    } catch {
      return false;
    }
  }

  /** The verified entry, or undefined (absent, unreadable, or not matching its digest). */
  async get(repository: string, digest: string): Promise<CachedMetadata | undefined> {
    const path = this.file(repository, digest);
    let raw: Buffer;
    try {
      raw = await this.io(() => readFile(path));
    } catch {
      return undefined;
    }
    // Layout: media type, newline, then the bytes exactly as served.
    const nl = raw.indexOf(0x0a);
    const bytes = nl < 0 ? undefined : raw.subarray(nl + 1);
    if (!bytes || digestOf(bytes, parseDigest(digest).algorithm) !== digest) {
      log.debug(`metadata cache: ${path} does not match its digest; ignoring it`);
      if (!this.readOnly) await unlink(path).catch(() => undefined);
      return undefined;
    }
    return { bytes: new Uint8Array(bytes), mediaType: raw.subarray(0, nl).toString('utf8') };
  }

  private mkdirOnce(dir: string): Promise<unknown> {
    let made = this.made.get(dir);
    if (!made) {
      made = mkdir(dir, { recursive: true });
      this.made.set(dir, made);
      made.catch(() => this.made.delete(dir));
    }
    return made;
  }

  /** Stores verified bytes under their digest; failures only cost a later request. */
  async put(repository: string, digest: string, bytes: Uint8Array, mediaType: string): Promise<void> {
    if (this.readOnly || bytes.length > maxEntryBytes || /[\r\n]/.test(mediaType)) return;
    const path = this.file(repository, digest);
    try {
      await this.io(async () => {
        await this.mkdirOnce(join(path, '..'));
        await replaceCacheFile(path, Buffer.concat([Buffer.from(`${mediaType}\n`, 'utf8'), bytes]), 0o644);
      });
    } catch (err) {
      // Made in this run but gone now (a concurrent clean-up): the next entry makes it again.
      this.made.delete(join(path, '..'));
      log.debug(`metadata cache: cannot store ${digest} in ${this.dir}: ${errorMessage(err)}`);
    }
  }
}
