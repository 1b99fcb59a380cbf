import type { Command } from 'commander';
import { terminalSafe } from '../internal/terminal.js';
import { formatReference, parseReference } from '../reference/index.js';
import { RegistryClient, formatPlatform, type ResolvedImage } from '../registry/index.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import { addRegistryOptions } from './options.js';

/** Adds the registry connection flags (credentials, TLS, insecure hosts, mirrors) to a command. */
interface InspectFlags extends RegistryFlags {
  json?: boolean;
  raw?: boolean;
}

function inspectJson(img: ResolvedImage): object {
  const c = img.config.config ?? {};
  return {
    reference: formatReference(img.reference),
    digest: img.digest,
    ...(img.indexDigest ? { indexDigest: img.indexDigest } : {}),
    mediaType: img.mediaType,
    platform: img.platform,
    configDigest: img.configDigest,
    config: {
      Entrypoint: c.Entrypoint ?? null,
      Cmd: c.Cmd ?? null,
      Env: c.Env ?? [],
      WorkingDir: c.WorkingDir ?? '',
      User: c.User ?? '',
      Volumes: c.Volumes ?? null,
    },
    layers: img.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
    credential: {
      kind: img.credential.kind,
      username: img.credential.username,
      source: img.credential.source,
    },
  };
}

function inspectText(img: ResolvedImage): string {
  const c = img.config.config ?? {};
  const list = (v: string[] | null | undefined) => (v ? JSON.stringify(v) : '(none)');
  const lines = [
    `Reference:   ${formatReference(img.reference)}`,
    `Digest:      ${img.digest}`,
    ...(img.indexDigest ? [`Index:       ${img.indexDigest}`] : []),
    `Media type:  ${img.mediaType}`,
    `Platform:    ${formatPlatform(img.platform)}`,
    `Credential:  ${img.credential.kind}${img.credential.username ? ` (${img.credential.username})` : ''}, ${img.credential.source.description}`,
    `Config:      ${img.configDigest}`,
    `  Entrypoint: ${list(c.Entrypoint)}`,
    `  Cmd:        ${list(c.Cmd)}`,
    `  WorkingDir: ${c.WorkingDir || '(none)'}`,
    `  User:       ${c.User || '(none)'}`,
    `  Volumes:    ${c.Volumes && Object.keys(c.Volumes).length ? Object.keys(c.Volumes).join(', ') : '(none)'}`,
    `  Env:${(c.Env ?? []).length ? '' : '        (none)'}`,
    ...(c.Env ?? []).map((e) => `    ${e}`),
    `Layers:`,
    ...img.layers.map((l) => `  ${l.digest}  ${l.size.toString().padStart(12)}  ${l.mediaType}`),
  ];
  return lines.join('\n') + '\n';
}

export function registerImageInspect(parent: Command): void {
  addRegistryOptions(
    parent
      .command('inspect')
      .description('Show an image manifest, config and layers (the digest-verified platform image)')
      .argument(
        '<reference>',
        'image reference, e.g. ghcr.io/org/app:1.0 or docker.io/library/nginx@sha256:…',
      )
      .option('--platform <os/arch[/variant]>', 'platform to pick from an index (default linux/amd64)')
      .option('--json', 'machine-readable output')
      .option('--raw', 'print the manifest (or index) bytes exactly as the registry served them'),
  ).action(async (reference: string, flags: InspectFlags) => {
    const client = new RegistryClient(clientOptionsFromFlags(flags));
    try {
      const ref = parseReference(reference);
      if (flags.raw) {
        const m = await client.fetchManifest(ref);
        process.stdout.write(m.bytes);
        return;
      }
      const img = await client.resolveImage(ref);
      process.stdout.write(
        flags.json
          ? JSON.stringify(inspectJson(img), null, 2) + '\n'
          : terminalSafe(inspectText(img), { multiline: true }),
      );
    } finally {
      await client.close();
    }
  });
}
