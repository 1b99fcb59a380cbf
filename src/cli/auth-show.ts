import type { Command } from 'commander';
import { resolveCredential, type Credential } from '../credentials/index.js';
import { credentialTarget } from '../credentials/host.js';
import { formatReference } from '../reference/index.js';
import { errorMessage } from '../internal/errors.js';
import { clientOptionsFromFlags } from '../registry/options.js';
import { RegistryTransport, type AuthEndpoint } from '../registry/transport.js';
import { addTlsOptions } from './options.js';

interface AuthShowOptions {
  json?: boolean;
  authfile?: string;
  ping?: boolean;
  caFile?: string;
  certDir?: string;
  insecureRegistry?: string[];
}

/**
 * Asks the registry (anonymous GET /v2/) where it sends clients to authenticate. A token server on
 * another host (Docker Hub, ACR) receives the credential, so the user should see which host that is.
 */
async function pingAuth(registry: string, opts: AuthShowOptions): Promise<AuthEndpoint | { error: string }> {
  const transport = new RegistryTransport({
    ...clientOptionsFromFlags(opts),
    credentialResolver: () => Promise.reject(new Error('auth show --ping sends no credential')),
    retry: { maxRetries: 0 },
  });
  try {
    return await transport.authEndpoint(registry);
  } catch (err) {
    return { error: errorMessage(err) };
  } finally {
    await transport.close();
  }
}

function describeEndpoint(ep: AuthEndpoint | { error: string }): string {
  if ('error' in ep) return `unknown (${ep.error})`;
  if (ep.scheme === 'none') return `none (${ep.registry} asks for no authentication)`;
  if (ep.scheme !== 'bearer') return `${ep.scheme} at ${ep.registry}`;
  const where = ep.realmOnOtherHost
    ? ` (another host than the registry: ${ep.realmHost} receives the credential, as with Docker)`
    : '';
  return `bearer token server ${ep.realm}${where}`;
}

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
  const cmd = parent
    .command('show')
    .description('Show which credential would be used for an image or registry, and where it comes from')
    .argument(
      '<image-or-registry>',
      'image reference (nginx, ghcr.io/org/app:1) or registry (quay.io, localhost:5000, https://myhost:5000)',
    )
    .option('--json', 'print a JSON object (registry, kind, username, source, attempts)')
    .option('--authfile <path>', 'read only this auth file (Docker config.json or Podman auth.json)')
    .option(
      '--ping',
      'also ask the registry (anonymous GET /v2/) where the credential would be sent: its auth scheme and token server',
    );
  addTlsOptions(cmd).action(async (target: string, opts: AuthShowOptions) => {
    const parsed = credentialTarget(target);
    const credential = await resolveCredential(parsed.reference ?? parsed.registry, {
      ...(opts.authfile === undefined ? {} : { authFile: opts.authfile }),
    });
    const reference = parsed.reference === undefined ? undefined : formatReference(parsed.reference);
    const endpoint = opts.ping ? await pingAuth(credential.registry, opts) : undefined;
    if (opts.json) {
      const report = credentialReport(credential, reference);
      if (endpoint) report['auth'] = endpoint;
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const lines = [`registry: ${credential.registry}`];
    if (reference !== undefined) lines.push(`image:    ${reference}`);
    lines.push(`kind:     ${credential.kind}`);
    lines.push(`username: ${credential.username ?? '(none)'}`);
    lines.push(`source:   ${credential.source.description}`);
    if (endpoint) lines.push(`sent to:  ${describeEndpoint(endpoint)}`);
    const attempts = credential.attempts ?? [];
    if (attempts.length > 0) {
      lines.push(credential.kind === 'anonymous' ? 'looked at:' : 'looked at first:');
      for (const a of attempts) lines.push(`  - ${a}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
