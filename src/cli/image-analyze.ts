import type { Command } from 'commander';
import { terminalSafe } from '../internal/terminal.js';
import { ContrastError } from '../internal/errors.js';
import { ImageAnalyzer, type AnalyzedImage } from '../image/index.js';
import { formatReference } from '../reference/index.js';
import { RegistryClient, formatPlatform, parsePlatform } from '../registry/index.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import { addRegistryOptions } from './options.js';
import { addLayerOptions, layerSettings, type LayerFlags } from './layer-options.js';

interface AnalyzeFlags extends RegistryFlags, LayerFlags {
  platform?: string;
  verity?: boolean;
  json?: boolean;
  concurrency?: string;
}

function analyzeJson(img: AnalyzedImage): object {
  return {
    reference: formatReference(img.reference),
    digest: img.digest,
    platform: img.platform,
    user: img.user,
    layers: img.layerAnalysis.map((l) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      diffId: l.diffId,
      uncompressedSize: l.uncompressedSize,
      ...(l.verityRoot !== undefined ? { verityRoot: l.verityRoot } : {}),
    })),
    warnings: img.warnings ?? [],
  };
}

function analyzeText(img: AnalyzedImage): string {
  const u = img.user;
  const lines = [
    `Reference: ${formatReference(img.reference)}`,
    `Digest:    ${img.digest}`,
    `Platform:  ${formatPlatform(img.platform)}`,
    `User:      uid=${u.uid} gid=${u.gid} groups=[${u.additionalGids.join(',')}] name=${u.username || '(unknown)'}`,
    `Layers:`,
  ];
  for (const l of img.layerAnalysis) {
    lines.push(`  ${l.digest}  ${l.size} bytes  ${l.mediaType}`);
    lines.push(`    diff_id ${l.diffId}  ${l.uncompressedSize} bytes uncompressed`);
    if (l.verityRoot) lines.push(`    dm-verity root ${l.verityRoot}`);
  }
  return lines.join('\n') + '\n';
}

export function registerImageAnalyze(parent: Command): void {
  addRegistryOptions(
    addLayerOptions(
      parent
        .command('analyze')
        .description(
          'Stream every layer once: verify digests and diff_ids, resolve the image user, compute dm-verity roots',
        )
        .argument('<reference...>', 'image reference(s); layers shared between images are fetched once')
        .option('--platform <os/arch[/variant]>', 'platform to pick from an index (default linux/amd64)')
        .option('--verity', 'compute the tarfs dm-verity root of every layer (AKS / tarfs-era policies)')
        .option('--json', 'machine-readable output on stdout')
        .option('--concurrency <n>', 'layers analysed at once (default: CPU count + 1)'),
    ),
  ).action(async (references: string[], flags: AnalyzeFlags, cmd: Command) => {
    const { cachePath, progress } = layerSettings(flags, cmd);
    let concurrency: number | undefined;
    if (flags.concurrency !== undefined) {
      concurrency = Number(flags.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new ContrastError(`--concurrency: "${flags.concurrency}" is not a positive integer`);
      }
    }
    const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
    const client = new RegistryClient(clientOptionsFromFlags(flags));
    try {
      const analyzer = new ImageAnalyzer({
        client,
        cachePath,
        verity: flags.verity ?? false,
        progress,
        ...(concurrency ? { concurrency } : {}),
      });
      const results = await analyzer.analyzeMany(references, platform ? { platform } : {});
      const images = references.map((r) => results.get(r)!);
      if (flags.json) {
        const out = images.length === 1 ? analyzeJson(images[0]!) : images.map(analyzeJson);
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        process.stdout.write(terminalSafe(images.map(analyzeText).join('\n'), { multiline: true }));
      }
    } finally {
      await client.close();
    }
  });
}
