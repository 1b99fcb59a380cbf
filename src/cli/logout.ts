import type { Command } from 'commander';
import { describeCredential, removeCredential, resolveCredential } from '../credentials/index.js';
import { helperExecutable } from '../credentials/helper.js';
import { log } from '../internal/log.js';

export function registerLogout(parent: Command): void {
  parent
    .command('logout')
    .description('Remove stored credentials for a registry (config file entries and credential helper)')
    .argument('[registry]', 'registry host[:port] or URL (default: Docker Hub)')
    .option('--authfile <path>', 'change this file instead of the Docker config')
    .action(async (registry: string | undefined, opts: { authfile?: string }) => {
      const options = opts.authfile === undefined ? {} : { authFile: opts.authfile };
      const removed = await removeCredential(registry ?? '', options);
      if (removed.removedKeys.length === 0 && !removed.helperErased) {
        process.stdout.write(`Not logged in to ${removed.registry}\n`);
      } else {
        process.stdout.write(`Removing login credentials for ${removed.registry}\n`);
        for (const key of removed.removedKeys) log.result(`removed key "${key}" from ${removed.path}`);
        if (removed.helperErased && removed.helper !== undefined) {
          log.result(`erased the credential held by ${helperExecutable(removed.helper)}`);
        }
      }
      // Other files (Podman's, DOCKER_AUTH_CONFIG) may still hold one: say so rather than surprise later.
      try {
        const left = await resolveCredential(removed.registry, options);
        if (left.kind !== 'anonymous')
          log.warn(`${removed.registry} still has a credential: ${describeCredential(left)}`);
      } catch {
        // a broken helper elsewhere is not this command's business
      }
    });
}
