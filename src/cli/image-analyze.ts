import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerImageAnalyze(parent: Command): void {
  parent
    .command('analyze')
    .description('Analyze image layers: users, diff_ids, dm-verity roots')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('analyze: not implemented yet');
    });
}
