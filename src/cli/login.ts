import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerLogin(parent: Command): void {
  parent
    .command('login')
    .description('Store registry credentials')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('login: not implemented yet');
    });
}
