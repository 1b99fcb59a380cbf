import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerMirror(parent: Command): void {
  parent
    .command('mirror')
    .description('Copy images to a private registry, preserving digests')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('mirror: not implemented yet');
    });
}
