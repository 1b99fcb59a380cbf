import type { Command } from 'commander';
import { terminalSafe } from '../internal/terminal.js';
import type { ImageCheck } from '../registry/check.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import { runRegistryCheck } from '../workflows/check.js';
import { addRegistryOptions, collect } from './options.js';

interface CheckFlags extends RegistryFlags {
  file?: string[];
  json?: boolean;
}

const mark = (ok: boolean | null): string => (ok === true ? 'ok' : ok === false ? 'FAIL' : '-');

export function checkTable(results: readonly ImageCheck[]): string {
  const rows = results.map((r) => [
    r.image,
    mark(r.pinned),
    mark(r.tls.ok),
    mark(r.anonymousPull.ok),
    r.digestMatch === null ? (r.pinned ? 'FAIL (unknown)' : '-') : mark(r.digestMatch),
  ]);
  const head = ['IMAGE', 'PINNED', 'PUBLIC TLS', 'ANONYMOUS PULL', 'DIGEST'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  const notes: string[] = [];
  for (const r of results) {
    const why: string[] = [];
    if (!r.pinned) why.push('not pinned by digest (use image[:tag]@sha256:…)');
    if (!r.tls.ok && r.tls.reason) why.push(`TLS: ${r.tls.reason}`);
    if (!r.anonymousPull.ok && r.anonymousPull.reason) why.push(`anonymous pull: ${r.anonymousPull.reason}`);
    if (r.digestMatch === false) why.push('digest: the registry serves different content for this digest');
    if (r.digestMatch === null && r.pinned)
      why.push('digest: the manifest could not be fetched at all, so the digest was not compared');
    if (why.length) notes.push(`${r.image}:\n${why.map((w) => `  - ${w}`).join('\n')}`);
  }
  return `${out.join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

export function registerRegistryCheck(parent: Command): void {
  addRegistryOptions(
    parent
      .command('check')
      .description(
        'Check that the confidential guest can pull images by itself: pinned, public-PKI TLS, anonymous pull, digest',
      )
      .argument('[images...]', 'image references')
      .option(
        '-f, --file <path>',
        'check the images of the confidential workloads in these YAML files/directories (repeatable)',
        collect,
      )
      .option(
        '--json',
        'machine-readable output: [{image, pinned, tls: {ok, reason}, anonymousPull: {ok, reason}, digestMatch}]',
      ),
  ).action(async (images: string[], flags: CheckFlags) => {
    const results = await runRegistryCheck(images, flags.file ?? [], clientOptionsFromFlags(flags));
    if (flags.json) {
      const json = results.map((r) => ({
        image: r.image,
        pinned: r.pinned,
        tls: { ok: r.tls.ok, reason: r.tls.reason, problems: r.tls.problems },
        anonymousPull: r.anonymousPull,
        digestMatch: r.digestMatch,
      }));
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      process.stdout.write(terminalSafe(checkTable(results), { multiline: true }));
    }
    if (results.some((r) => !r.ok)) process.exitCode = 1;
  });
}
