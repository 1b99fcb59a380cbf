// `contrast policy generate`: a genpolicy-style command usable without Contrast. Annotates the
// confidential workloads in the given YAML files (in place, or into -o) with a Kata agent policy.
import type { Command } from 'commander';
import { writeFilesAtomic } from '../internal/atomic.js';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { ImageAnalyzer } from '../image/index.js';
import {
  DEFAULT_RUNTIME_CLASS_PREFIX,
  findWorkloads,
  readKubeFiles,
  serializeKubeFile,
} from '../kube/index.js';
import {
  FLAVOURS,
  generatePolicies,
  isFlavour,
  loadPolicySettings,
  requiredImages,
} from '../policy/index.js';
import type { PolicyEncoding, PolicyOptions } from '../policy/index.js';
import { RegistryClient, parsePlatform } from '../registry/index.js';
import { pullSecretEntries, withPullSecrets } from '../kube/pull-secrets.js';
import { clientOptionsFromFlags, type RegistryFlags } from '../registry/options.js';
import { addRegistryOptions, collect } from './options.js';
import { addLayerOptions, layerSettings, type LayerFlags } from './layer-options.js';

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
}

export function registerPolicyGenerate(parent: Command): void {
  addRegistryOptions(
    addLayerOptions(
      parent
        .command('generate')
        .description(
          'Generate Kata agent policies for the confidential workloads in Kubernetes YAML and add them as annotations',
        )
        .argument('<paths...>', 'YAML files or directories (searched recursively for .yml/.yaml)')
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
          DEFAULT_RUNTIME_CLASS_PREFIX,
        )
        .option(
          '-o, --output <file>',
          'write the annotated YAML here instead of changing the input file (one input file only)',
        )
        .option('--raw', 'print the policy text of each workload on stdout; files are not changed')
        .option(
          '--platform <os/arch[/variant]>',
          'platform to pick from image indexes (default linux/amd64)',
        ),
    ),
  ).action(async (paths: string[], flags: Flags, cmd: Command) => {
    if (!isFlavour(flags.flavour)) {
      throw new ContrastError(`--flavour: unknown flavour "${flags.flavour}"`, {
        hint: `use ${FLAVOURS.join(' or ')}`,
      });
    }
    if (flags.encoding !== undefined && flags.encoding !== 'legacy' && flags.encoding !== 'initdata') {
      throw new ContrastError(`--encoding: unknown encoding "${flags.encoding}"`, {
        hint: 'use legacy or initdata',
      });
    }
    const { cachePath, progress } = layerSettings(flags, cmd);

    const files = await readKubeFiles(paths);
    if (flags.output !== undefined && files.length !== 1) {
      throw new ContrastError(`-o/--output needs exactly one input file, got ${files.length}`);
    }
    const configFiles = flags.configFile.length > 0 ? await readKubeFiles(flags.configFile) : [];
    const workloads = findWorkloads(files, { runtimeClassPrefix: flags.runtimeClassPrefix });
    if (workloads.length === 0) {
      log.warn(
        `no workloads with a runtimeClassName starting with "${flags.runtimeClassPrefix}" in ${paths.join(', ')}; nothing to do`,
      );
      return;
    }
    const options: PolicyOptions & { encoding?: PolicyEncoding } = {
      flavour: flags.flavour,
      configFiles,
      ...(flags.policy !== undefined ? { rulesPath: flags.policy } : {}),
      ...(flags.settings !== undefined ? { settingsPath: flags.settings } : {}),
      ...(flags.settingsDropIn !== undefined ? { settingsDropInDir: flags.settingsDropIn } : {}),
      ...(flags.encoding !== undefined ? { encoding: flags.encoding as PolicyEncoding } : {}),
    };
    const settings = await loadPolicySettings(options);

    const clientOptions = clientOptionsFromFlags(flags);
    clientOptions.credentials = withPullSecrets(
      clientOptions.credentials,
      pullSecretEntries([...files, ...configFiles], workloads),
    );
    const client = new RegistryClient(clientOptions);
    let policies;
    try {
      const analyzer = new ImageAnalyzer({
        client,
        cachePath,
        verity: flags.flavour === 'host-pull',
        progress,
      });
      const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
      const images = await analyzer.analyzeMany(
        requiredImages(workloads, settings),
        platform ? { platform } : {},
      );
      policies = await generatePolicies(files, workloads, images, settings, options);
    } finally {
      await client.close();
    }

    if (flags.raw) {
      process.stdout.write(policies.map((p) => p.policyText + '\n').join(''));
      return;
    }
    const changed = new Set(policies.map((p) => p.workload.file));
    const outputs = [...changed].map((f) => ({ path: flags.output ?? f.path, data: serializeKubeFile(f) }));
    await writeFilesAtomic(outputs);
    for (const p of policies) {
      const w = p.workload;
      process.stdout.write(
        `${p.hash}\t${flags.output ?? w.file.path}\t${w.kind}\t${w.namespace}/${w.name}\n`,
      );
    }
    log.info(`✔️ annotated ${policies.length} workload(s) in ${outputs.map((o) => o.path).join(', ')}`);
  });
}
