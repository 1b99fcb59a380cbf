import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerPullSecret(parent: Command): void {
  parent
    .command('pull-secret')
    .description('Print a kubernetes.io/dockerconfigjson Secret for a registry')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('pull-secret: not implemented yet');
    });
}
