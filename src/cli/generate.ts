import { join } from 'node:path';
import { terminalSafe } from '../internal/terminal.js';
import { Option, type Command } from 'commander';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { runGenerate, type GenerateOptions } from '../workflows/generate.js';
import { NO_RELEASE_HINT, NO_RELEASE_MESSAGE, recordPath, resolveRelease } from '../release/record.js';
import { rememberRelease } from '../workflows/release-record.js';
import type { RegistryFlags } from '../registry/options.js';
import { errorsExit2, reportCheck } from './exit-status.js';
import { addRegistryOptions, collect } from './options.js';

/** Flags named like the library option they set are typed by it. */
interface GenerateFlags
  extends
    RegistryFlags,
    Pick<
      GenerateOptions,
      | 'referenceValues'
      | 'referenceValuesFile'
      | 'referenceValuePatches'
      | 'purgeEmptyReferenceValues'
      | 'disableUpdates'
      | 'imageReplacements'
      | 'skipInitializer'
      | 'skipServiceMesh'
      | 'injectImageStore'
      | 'insecureEnableDebugShellAccess'
      | 'output'
    > {
  policy: string;
  settings: string;
  genpolicyCachePath: string;
  manifest: string;
  addWorkloadOwnerKey?: string[];
  addSeedshareOwnerKey?: string[];
  concurrency?: string;
  progress: boolean;
  contrastRelease?: string;
  check?: boolean;
}

export function registerGenerate(parent: Command): void {
  addRegistryOptions(
    parent
      .command('generate')
      .description(
        'Generate policies and inject them into Kubernetes resources; create or update the manifest',
      )
      .argument(
        '<paths...>',
        'YAML files or directories (searched recursively for .yml/.yaml); - reads stdin',
      )
      .option('-p, --policy <path>', 'Rego rules (built-in rules when the file does not exist)', 'rules.rego')
      .option(
        '-s, --settings <path>',
        'policy settings (built-in settings when the file does not exist)',
        'settings.json',
      )
      .option('-c, --genpolicy-cache-path <path>', 'layer cache file', 'layers-cache.json')
      .option('-m, --manifest <path>', 'manifest to create or update', 'manifest.json')
      .option(
        '--contrast-release <dir>',
        "the Contrast release to generate for: a directory with that release's runtime-<platform>.yml, coordinator.yml, image-replacements.txt, reference-values.json (recorded in the workspace for later runs)",
      )
      .option(
        '--reference-values <platform>',
        'platform for contrast-cc runtime classes and new manifests (Metal-QEMU-SNP, Metal-QEMU-SNP-GPU, Metal-QEMU-TDX, Metal-QEMU-TDX-GPU, AKS-CLH-SNP)',
      )
      .option(
        '--reference-values-file <path>',
        "reference values to use: a release's reference-values.json (handler → values) or one {snp, tdx} object",
      )
      .addOption(
        new Option(
          '--reference-value-patches <path>',
          'JSON patch files for the reference values of a new manifest (repeatable)',
        )
          .argParser(collect)
          .hideHelp(),
      )
      .addOption(
        new Option(
          '--purge-empty-reference-values',
          'drop reference value sets that only miss expected values',
        ).hideHelp(),
      )
      .option(
        '-w, --add-workload-owner-key <path>',
        'workload owner key (ECDSA PEM) to add; generated if it is the only one and missing (repeatable)',
        collect,
      )
      .option(
        '--add-seedshare-owner-key <path>',
        'seed share owner key (RSA PEM) to add; generated if it is the only one and missing (repeatable)',
        collect,
      )
      .option('-d, --disable-updates', 'no workload owner keys: the manifest can never be updated')
      .option('--image-replacements <path>', 'image=replacement lines applied to every container image')
      .option('--skip-initializer', 'do not inject the Initializer')
      .option('--skip-service-mesh', 'do not inject the service mesh sidecar')
      .option('--inject-image-store', 'inject an encrypted ephemeral block device for image pulls')
      .option('--insecure-enable-debug-shell-access', 'inject a debug shell (NOT for production)')
      .option('-o, --output <file>', 'write all YAML into this file instead of in place (- for stdout)')
      .option('--platform <os/arch[/variant]>', 'image platform to analyze (default linux/amd64)')
      .option('--concurrency <n>', 'parallel layer downloads')
      .option('--no-progress', 'no progress display while images are analyzed')
      .option('--check', 'write nothing; exit 1 if YAML or manifest policies are stale, 2 on errors'),
  ).action(async (paths: string[], flags: GenerateFlags, cmd: Command) => {
    const globals = cmd.optsWithGlobals() as { workspaceDir?: string };
    const ws = globals.workspaceDir;
    // --workspace-dir prefixes every default path the user did not set explicitly.
    const path = (option: string, value: string): string =>
      ws && cmd.getOptionValueSource(option) === 'default' ? join(ws, value) : value;
    const explicitOwner = flags.addWorkloadOwnerKey !== undefined;
    const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
      cmd.error(`--concurrency: "${flags.concurrency}" is not a positive integer`);
    }
    if (flags.check) errorsExit2();
    const resolved = await resolveRelease(flags.contrastRelease, ws);
    if (!resolved) throw new ContrastError(NO_RELEASE_MESSAGE, { code: 'NO_RELEASE', hint: NO_RELEASE_HINT });
    const { release } = resolved;
    log.info(
      `Contrast ${release.version} (${release.line} line) from ${release.source}${resolved.fromRecord ? ` (recorded in ${recordPath(ws)})` : ''}`,
    );
    // kubectl style: when YAML goes to stdout, every other line goes to stderr.
    const yamlToStdout = flags.output === '-' || (!flags.output && paths.includes('-'));
    const out = yamlToStdout ? process.stderr : process.stdout;
    const result = await runGenerate({
      check: flags.check === true,
      release,
      paths,
      policyPath: path('policy', flags.policy),
      settingsPath: path('settings', flags.settings),
      cachePath: path('genpolicyCachePath', flags.genpolicyCachePath),
      manifestPath: path('manifest', flags.manifest),
      ...(flags.referenceValues ? { referenceValues: flags.referenceValues } : {}),
      ...(flags.referenceValuesFile ? { referenceValuesFile: flags.referenceValuesFile } : {}),
      ...(flags.referenceValuePatches ? { referenceValuePatches: flags.referenceValuePatches } : {}),
      purgeEmptyReferenceValues: flags.purgeEmptyReferenceValues ?? false,
      workloadOwnerKeys:
        flags.addWorkloadOwnerKey ??
        (flags.disableUpdates ? [] : [ws ? join(ws, 'workload-owner.pem') : 'workload-owner.pem']),
      workloadOwnerKeysExplicit: explicitOwner,
      seedshareOwnerKeys: flags.addSeedshareOwnerKey ?? [
        ws ? join(ws, 'seedshare-owner.pem') : 'seedshare-owner.pem',
      ],
      disableUpdates: flags.disableUpdates ?? false,
      ...(flags.imageReplacements ? { imageReplacements: flags.imageReplacements } : {}),
      skipInitializer: flags.skipInitializer ?? false,
      skipServiceMesh: flags.skipServiceMesh ?? false,
      injectImageStore: flags.injectImageStore ?? false,
      insecureEnableDebugShellAccess: flags.insecureEnableDebugShellAccess ?? false,
      ...(flags.output ? { output: flags.output } : {}),
      registry: flags,
      ...(concurrency ? { concurrency } : {}),
      progress: flags.progress ? 'auto' : 'off',
      // Lines name workloads and files from the input YAML: no control sequence of theirs reaches the terminal.
      print: (line) => out.write(`${terminalSafe(line)}\n`),
    });
    if (flags.check) return reportCheck(result.stale ?? [], 'YAML and manifest policies');
    // Recorded only after a successful run, so a failing first try leaves no stale choice behind.
    await rememberRelease(ws, release);
    if (result.stdout !== undefined) process.stdout.write(result.stdout);
  });
}
