import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerRegistryCheck(parent: Command): void {
  parent
    .command('check')
    .description('Check that the confidential guest can pull images')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('check: not implemented yet');
    });
}
