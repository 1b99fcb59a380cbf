import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerAuthShow(parent: Command): void {
  parent
    .command('show')
    .description('Show which credential would be used for an image or registry')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('show: not implemented yet');
    });
}
