import type { Command } from 'commander';
import { resolveCredential, type Credential } from '../credentials/index.js';
import { credentialTarget } from '../credentials/host.js';
import { formatReference } from '../reference/index.js';

/** The `auth show --json` document: built field by field so that no secret can slip in. */
export function credentialReport(credential: Credential, reference?: string): Record<string, unknown> {
  const { source } = credential;
  return {
    registry: credential.registry,
    ...(reference === undefined ? {} : { reference }),
    kind: credential.kind,
    username: credential.username,
    source: {
      type: source.type,
      ...(source.path === undefined ? {} : { path: source.path }),
      ...(source.key === undefined ? {} : { key: source.key }),
      ...(source.helper === undefined ? {} : { helper: source.helper }),
      description: source.description,
    },
    attempts: credential.attempts ?? [],
  };
}

export function registerAuthShow(parent: Command): void {
  parent
    .command('show')
    .description('Show which credential would be used for an image or registry, and where it comes from')
    .argument(
      '<image-or-registry>',
      'image reference (nginx, ghcr.io/org/app:1) or registry (quay.io, localhost:5000, https://myhost:5000)',
    )
    .option('--json', 'print a JSON object (registry, kind, username, source, attempts)')
    .option('--authfile <path>', 'read only this auth file (Docker config.json or Podman auth.json)')
    .action(async (target: string, opts: { json?: boolean; authfile?: string }) => {
      const parsed = credentialTarget(target);
      const credential = await resolveCredential(parsed.reference ?? parsed.registry, {
        ...(opts.authfile === undefined ? {} : { authFile: opts.authfile }),
      });
      const reference = parsed.reference === undefined ? undefined : formatReference(parsed.reference);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(credentialReport(credential, reference), null, 2)}\n`);
        return;
      }
      const lines = [`registry: ${credential.registry}`];
      if (reference !== undefined) lines.push(`image:    ${reference}`);
      lines.push(`kind:     ${credential.kind}`);
      lines.push(`username: ${credential.username ?? '(none)'}`);
      lines.push(`source:   ${credential.source.description}`);
      const attempts = credential.attempts ?? [];
      if (attempts.length > 0) {
        lines.push(credential.kind === 'anonymous' ? 'looked at:' : 'looked at first:');
        for (const a of attempts) lines.push(`  - ${a}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
