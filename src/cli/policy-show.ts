// `contrast policy show`: what a generated policy lets the host do, per workload and container.
import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { loadViews, showJson, showMarkdown, showText } from '../review/index.js';

interface Flags {
  workload?: string;
  json?: boolean;
  format: string;
}

export function registerPolicyShow(parent: Command): void {
  parent
    .command('show')
    .description(
      'Show what a policy admits: every container (image, user, args, env, mounts, capabilities, exec) and the sandbox switches',
    )
    .argument('<input>', 'annotated YAML file or directory, a .rego policy, or initdata')
    .option('--workload <kind/name>', 'only this workload')
    .option('--json', 'machine-readable output: {"workloads":[…]}')
    .option('--format <format>', 'text or markdown (a table per workload, for pull-request comments)', 'text')
    .action(async (input: string, flags: Flags) => {
      if (flags.format !== 'text' && flags.format !== 'markdown')
        throw new ContrastError(`--format: unknown format "${flags.format}"`, {
          hint: 'use text or markdown',
        });
      const { workloads, withoutPolicy } = await loadViews(
        input,
        flags.workload === undefined ? {} : { workload: flags.workload },
      );
      for (const w of withoutPolicy) log.warn(`${w}: no policy annotation (run \`contrast generate\` first)`);
      if (workloads.length === 0)
        throw new ContrastError(`${input}: no policy found`, { hint: 'run `contrast generate` on it first' });
      process.stdout.write(
        flags.json
          ? showJson(workloads)
          : flags.format === 'markdown'
            ? showMarkdown(workloads)
            : showText(workloads),
      );
    });
}
