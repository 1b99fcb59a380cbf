import type { Command } from 'commander';
import { storeCredential } from '../credentials/index.js';
import { ContrastError } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import { clientOptionsFromFlags } from '../registry/options.js';
import { verifyLogin } from '../registry/verify-login.js';
import { addTlsOptions } from './options.js';
import { readHiddenLine } from './prompt.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new ContrastError('--password-stdin expects the password on standard input', {
      hint: 'pipe it in: printf %s "$TOKEN" | contrast login REGISTRY -u USER --password-stdin',
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export function registerLogin(parent: Command): void {
  addTlsOptions(parent.command('login'))
    .description(
      'Store Basic credentials for a registry where Docker would (config file or credential helper)',
    )
    .argument('[registry]', 'registry host[:port] or URL (default: Docker Hub)')
    .requiredOption('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password or access token (prefer --password-stdin)')
    .option(
      '--password-stdin',
      'read the password or access token from standard input (on a terminal without either, it is prompted for without echo)',
    )
    .option('--authfile <path>', 'write this file instead of the Docker config')
    .option('--no-verify', 'store without checking the credentials against the registry first')
    .action(
      async (
        registry: string | undefined,
        opts: {
          username: string;
          password?: string;
          passwordStdin?: boolean;
          authfile?: string;
          verify: boolean;
          caFile?: string;
          certDir?: string;
          insecureRegistry?: string[];
        },
      ) => {
        registerSecret(opts.password);
        if (opts.password !== undefined && opts.passwordStdin) {
          throw new ContrastError('--password and --password-stdin are mutually exclusive');
        }
        let password: string;
        if (opts.passwordStdin) {
          // Like docker: one trailing line break (from echo or a file) is not part of the secret.
          password = (await readStdin()).replace(/\r?\n$/, '');
          registerSecret(password);
        } else if (opts.password !== undefined) {
          log.warn(
            'a password on the command line is visible to other users and in shell history; use --password-stdin',
          );
          password = opts.password;
        } else if (process.stdin.isTTY) {
          // On a terminal, ask without echo (docker and podman do the same).
          password = await readHiddenLine('Password: ');
          registerSecret(password);
          if (password === '') throw new ContrastError('no password entered');
        } else {
          throw new ContrastError('no password given', {
            hint: 'use --password-stdin, or run on a terminal to be prompted',
          });
        }
        if (opts.verify) {
          // The check reaches the registry the way later pulls will: same CA and insecure-registry settings.
          const tls = { caFile: opts.caFile, certDir: opts.certDir, insecureRegistry: opts.insecureRegistry };
          const verified = await verifyLogin(
            registry ?? '',
            { username: opts.username, password },
            clientOptionsFromFlags(tls),
          );
          log.info(verified.detail);
        }
        const stored = await storeCredential(
          registry ?? '',
          { username: opts.username, password },
          opts.authfile === undefined ? {} : { authFile: opts.authfile },
        );
        log.result(`stored credentials for ${stored.registry} in ${stored.description}`);
        process.stdout.write('Login Succeeded\n');
      },
    );
}
