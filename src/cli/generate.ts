import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerGenerate(parent: Command): void {
  parent
    .command('generate')
    .description('Generate policies and update the manifest for confidential workloads')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('generate: not implemented yet');
    });
}
