import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { createProgress, formatBytes, type ProgressTask } from '../image/progress.js';
import type { Mirror, MirrorStats } from '../registry/mirror.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import { parsePlatform } from '../registry/platform.js';
import type { UploadMode } from '../registry/push.js';
import { runMirror } from '../workflows/mirror.js';
import { addRegistryOptions, collect } from './options.js';

interface MirrorFlags extends Omit<RegistryFlags, 'platform'> {
  file?: string[];
  to: string;
  allPlatforms?: boolean;
  platform: string[];
  replacementsOut?: string;
  concurrency: string;
  upload: string;
  chunkSize?: string;
  progress: boolean;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ContrastError(`${flag}: "${value}" is not a positive integer`);
  return n;
}

export function summary(s: MirrorStats): string {
  return (
    `copied ${s.blobsCopied} blob(s), ${formatBytes(s.bytesCopied)}; ` +
    `skipped ${s.blobsSkipped} already present, ${formatBytes(s.bytesSkipped)}; ` +
    `mounted ${s.blobsMounted}, ${formatBytes(s.bytesMounted)}; ` +
    `manifests pushed ${s.manifestsPushed}, already present ${s.manifestsSkipped}`
  );
}

export function registerMirror(parent: Command): void {
  addRegistryOptions(
    parent
      .command('mirror')
      .description(
        'Copy images to a private registry byte for byte (digests unchanged), for guests that pull without credentials',
      )
      .argument('[images...]', 'image references to copy')
      .option(
        '-f, --file <path>',
        'take the images of the confidential workloads in these YAML files/directories (repeatable)',
        collect,
      )
      .requiredOption('--to <registry/prefix>', 'target: image host/a/b:t goes to <registry/prefix>/a/b:t')
      .option('--all-platforms', 'copy whole image indexes (every platform)')
      .option(
        '--platform <os/arch[/variant]>',
        'platform to copy from an index (repeatable; default linux/amd64)',
        collect,
        [],
      )
      .option(
        '--replacements-out <file>',
        'write original=mirror@sha256:… lines for contrast generate --image-replacements',
      )
      .option('--concurrency <n>', 'blobs copied in parallel', '4')
      .option('--upload <mode>', 'auto, monolithic or chunked', 'auto')
      .option(
        '--chunk-size <bytes>',
        'bytes per PATCH for chunked uploads (default 64 MiB; auto mode chunks blobs over 512 MiB)',
      )
      .option('--no-progress', 'no progress display'),
  ).action(async (images: string[], flags: MirrorFlags) => {
    const platforms = flags.platform.map(parsePlatform);
    if (flags.allPlatforms && platforms.length)
      throw new ContrastError('--all-platforms and --platform are mutually exclusive');
    const mode = flags.upload as UploadMode;
    if (!['auto', 'monolithic', 'chunked'].includes(mode))
      throw new ContrastError(`--upload: "${flags.upload}" is not auto, monolithic or chunked`);
    const { platform: _ignored, ...registryFlags } = flags;
    const progress = createProgress(flags.progress ? 'auto' : 'off');
    const tasks = new Map<string, ProgressTask>();
    const controller = new AbortController();
    const onSignal = (): void => {
      log.warn('interrupted: finishing the transfers in flight, then stopping');
      controller.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let mirror: Mirror | undefined;
    try {
      const result = await runMirror({
        images,
        ...(flags.file?.length ? { files: flags.file } : {}),
        client: clientOptionsFromFlags(registryFlags),
        ...(flags.replacementsOut ? { replacementsOut: flags.replacementsOut } : {}),
        started: (m) => (mirror = m),
        to: flags.to,
        ...(flags.allPlatforms ? { allPlatforms: true } : {}),
        ...(platforms.length ? { platforms } : {}),
        concurrency: positiveInt(flags.concurrency, '--concurrency'),
        upload: {
          mode,
          ...(flags.chunkSize ? { chunkSize: positiveInt(flags.chunkSize, '--chunk-size') } : {}),
        },
        signal: controller.signal,
        onEvent: (e) => {
          const key = `${e.target}@${e.digest}`;
          if (e.type === 'blob-start')
            tasks.set(key, progress.task(`${e.digest.slice(7, 19)} -> ${e.target}`, e.size));
          else if (e.type === 'blob-progress') tasks.get(key)?.update(e.sent);
          else if (e.type === 'blob-done') tasks.get(key)?.done();
          else if (e.type === 'blob-failed') tasks.get(key)?.fail();
        },
      });
      progress.close();
      if (flags.replacementsOut)
        log.result(`wrote ${result.images.length} image replacement(s) to ${flags.replacementsOut}`);
      process.stdout.write(result.replacements);
      log.result(summary(result.stats));
    } catch (err) {
      progress.close();
      if (mirror) log.result(`so far: ${summary(mirror.stats)}`);
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
