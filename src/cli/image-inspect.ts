import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerImageInspect(parent: Command): void {
  parent
    .command('inspect')
    .description('Show an image manifest, config and layers')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('inspect: not implemented yet');
    });
}
