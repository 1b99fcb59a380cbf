import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

// Placeholder until its issue lands: registered so the command tree is complete, fails loudly.
export function registerPolicyEval(parent: Command): void {
  parent
    .command('eval')
    .description('Evaluate a policy against requests')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ContrastError('eval: not implemented yet');
    });
}
