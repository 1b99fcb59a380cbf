import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerLogout(parent: Command): void {
  parent
    .command('logout')
    .description('Remove stored registry credentials')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('logout: not implemented yet');
    });
}
