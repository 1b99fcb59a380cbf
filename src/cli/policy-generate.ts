// `contrast policy generate`: a genpolicy-style command usable without Contrast. Annotates the
// confidential workloads in the given YAML files (in place, or into -o) with a Kata agent policy.
import { terminalSafe } from '../internal/terminal.js';
import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { RUNTIME_CLASS_PREFIX } from '../kube/index.js';
import { FLAVOURS, isFlavour } from '../policy/index.js';
import { annotateWorkloads } from '../workflows/annotate.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import { addLayerOptions, layerSettings, type LayerFlags } from './layer-options.js';
import { errorsExit2, reportCheck } from './exit-status.js';
import { addRegistryOptions, collect } from './options.js';

interface Flags extends RegistryFlags, LayerFlags {
  flavour: string;
  encoding?: string;
  policy?: string;
  settings?: string;
  settingsDropIn?: string;
  configFile: string[];
  runtimeClassPrefix: string;
  output?: string;
  raw?: boolean;
  platform?: string;
  check?: boolean;
}

export function registerPolicyGenerate(parent: Command): void {
  addRegistryOptions(
    addLayerOptions(
      parent
        .command('generate')
        .description(
          'Generate Kata agent policies for the confidential workloads in Kubernetes YAML and add them as annotations',
        )
        .argument(
          '<paths...>',
          'YAML files or directories (searched recursively for .yml/.yaml); - reads stdin and writes stdout',
        )
        .option('--flavour <flavour>', `${FLAVOURS.join(' or ')}: how images reach the guest`, 'guest-pull')
        .option(
          '--encoding <encoding>',
          'legacy (io.katacontainers.config.agent.policy) or initdata (cc_init_data); default: legacy for host-pull, initdata for guest-pull',
        )
        .option('-p, --policy <rules.rego>', 'Rego rules to use instead of ours (e.g. upstream Kata rules)')
        .option(
          '-s, --settings <file|dir>',
          'settings file, or a genpolicy-style directory (genpolicy-settings.json + genpolicy-settings.d/)',
        )
        .option(
          '--settings-drop-in <dir>',
          'directory of RFC 6902 JSON patches (*.json) applied to the settings in file-name order',
        )
        .option(
          '--config-file <file>',
          'extra YAML with ConfigMaps/Secrets the workloads reference (repeatable)',
          collect,
          [],
        )
        .option(
          '--runtime-class-prefix <prefix>',
          'only pods whose runtimeClassName starts with this ("" = all pods)',
          RUNTIME_CLASS_PREFIX,
        )
        .option(
          '-o, --output <file>',
          'write the annotated YAML here instead of changing the input file (one input file only; - for stdout)',
        )
        .option('--raw', 'print the policy text of each workload on stdout; files are not changed')
        .option('--check', 'write nothing; exit 1 if an annotation is stale, 2 on errors')
        .option(
          '--platform <os/arch[/variant]>',
          'platform to pick from image indexes (default linux/amd64)',
        ),
    ),
  ).action(async (paths: string[], flags: Flags, cmd: Command) => {
    if (flags.check) errorsExit2();
    if (!isFlavour(flags.flavour)) {
      throw new ContrastError(`--flavour: unknown flavour "${flags.flavour}"`, {
        hint: `use ${FLAVOURS.join(' or ')}`,
      });
    }
    const encoding = flags.encoding;
    if (encoding !== undefined && encoding !== 'legacy' && encoding !== 'initdata') {
      throw new ContrastError(`--encoding: unknown encoding "${flags.encoding}"`, {
        hint: 'use legacy or initdata',
      });
    }
    const { cachePath, progress } = layerSettings(flags, cmd);
    const { policies, written, stdout, stale } = await annotateWorkloads({
      paths,
      configFilePaths: flags.configFile,
      runtimeClassPrefix: flags.runtimeClassPrefix,
      flavour: flags.flavour,
      ...(flags.policy !== undefined ? { rulesPath: flags.policy } : {}),
      ...(flags.settings !== undefined ? { settingsPath: flags.settings } : {}),
      ...(flags.settingsDropIn !== undefined ? { settingsDropInDir: flags.settingsDropIn } : {}),
      ...(encoding !== undefined ? { encoding } : {}),
      ...(flags.output !== undefined ? { output: flags.output } : {}),
      ...(flags.platform !== undefined ? { platform: flags.platform } : {}),
      dryRun: flags.raw === true,
      client: clientOptionsFromFlags(flags),
      cachePath,
      progress,
      check: flags.check === true,
    });
    if (flags.check) return reportCheck(stale ?? [], 'policy annotations');
    // kubectl style: with YAML on stdout, the hashes and messages go to stderr.
    if (stdout !== undefined) process.stdout.write(stdout);
    const info = stdout !== undefined ? process.stderr : process.stdout;
    if (policies.length === 0) {
      log.warn(
        `no workloads with a runtimeClassName starting with "${flags.runtimeClassPrefix}" in ${paths.map((p) => (p === '-' ? 'stdin' : p)).join(', ')}; nothing to do`,
      );
      return;
    }
    if (flags.raw) {
      process.stdout.write(policies.map((p) => p.policyText + '\n').join(''));
      return;
    }
    for (const p of policies) {
      const w = p.workload;
      // Names and paths come from the input YAML: shown without their control characters.
      const where = flags.output === '-' || w.file.path === '-' ? 'stdout' : (flags.output ?? w.file.path);
      const fields = [p.hash, where, w.kind, `${w.namespace}/${w.name}`];
      info.write(`${fields.map((f) => terminalSafe(f)).join('\t')}\n`);
    }
    if (written.length > 0)
      log.result(`✔️ annotated ${policies.length} workload(s) in ${written.join(', ')}`);
  });
}
