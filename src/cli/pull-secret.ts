import type { Command } from 'commander';
import { log } from '../internal/log.js';
import { runPullSecret } from '../workflows/pull-secret.js';

interface PullSecretFlags {
  name: string;
  namespace: string;
  output?: string;
  authfile?: string;
}

export function registerPullSecret(parent: Command): void {
  parent
    .command('pull-secret')
    .description('Print a kubernetes.io/dockerconfigjson Secret built from your credentials for a registry')
    .argument('<registry>', 'registry host[:port] (or an image reference on it)')
    .option('--name <name>', 'metadata.name of the Secret', 'contrast-pull-secret')
    .option('--namespace <ns>', 'metadata.namespace of the Secret', 'default')
    .option('-o, --output <file>', 'write the Secret to this file (mode 0600) instead of standard output')
    .option('--authfile <path>', 'auth file to use instead of the docker/podman config search')
    .action(async (registry: string, flags: PullSecretFlags) => {
      const yaml = await runPullSecret({
        registry,
        name: flags.name,
        namespace: flags.namespace,
        ...(flags.authfile ? { authFile: flags.authfile } : {}),
        ...(flags.output ? { output: flags.output } : {}),
      });
      if (flags.output) {
        log.result(`wrote Secret ${flags.namespace}/${flags.name} to ${flags.output}`);
      } else {
        process.stdout.write(yaml);
      }
    });
}
