// `contrast policy diff A B`: what changed in what the policies admit, per workload and container.
import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { diffJson, diffMarkdown, diffPolicies, diffText, loadViews } from '../review/index.js';
import { errorsExit2, usageErrorsExit2 } from './exit-status.js';

interface Flags {
  workload?: string;
  json?: boolean;
  format: string;
}

export function registerPolicyDiff(parent: Command): void {
  usageErrorsExit2(
    parent
      .command('diff')
      .description('Semantic diff of the policies in A and B (YAML files or directories, .rego, initdata)')
      .argument('<a>', 'before: annotated YAML file or directory, a .rego policy, or initdata')
      .argument('<b>', 'after: same kinds of input')
      .option('--workload <kind/name>', 'only this workload')
      .option('--json', 'machine-readable output: {"changes":[{workload, container, field, before, after}]}')
      .option('--format <format>', 'text or markdown (tables for a pull-request comment)', 'text')
      .addHelpText('after', '\nExit status: 0 the policies admit the same, 1 they differ, 2 error.'),
  ).action(async (a: string, b: string, flags: Flags) => {
    errorsExit2();
    if (flags.format !== 'text' && flags.format !== 'markdown')
      throw new ContrastError(`--format: unknown format "${flags.format}"`, {
        hint: 'use text or markdown',
      });
    const options = flags.workload === undefined ? {} : { workload: flags.workload };
    const [before, after] = [await loadViews(a, options), await loadViews(b, options)];
    for (const w of [...before.withoutPolicy, ...after.withoutPolicy])
      log.warn(`${w}: no policy annotation; not compared`);
    const result = diffPolicies(before.workloads, after.workloads);
    process.stdout.write(
      flags.json ? diffJson(result) : flags.format === 'markdown' ? diffMarkdown(result) : diffText(result),
    );
    if (result.changes.length > 0) process.exitCode = 1;
  });
}
