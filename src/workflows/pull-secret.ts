// `contrast pull-secret` as a workflow: the Secret built from the user's credentials
// (src/kube/pull-secrets.ts), written with mode 0600 (temp file + rename) when an output file is given.
import { writeFileAtomic } from '../internal/atomic.js';
import { pullSecretYaml } from '../kube/pull-secrets.js';

export interface PullSecretOptions {
  registry: string;
  name: string;
  namespace: string;
  authFile?: string;
  /** Write the Secret here instead of returning it for stdout. */
  output?: string;
}

/** The Secret's YAML; with `output` it is written there (mode 0600, it holds a credential). */
export async function runPullSecret(o: PullSecretOptions): Promise<string> {
  const yaml = await pullSecretYaml(o.registry, {
    name: o.name,
    namespace: o.namespace,
    ...(o.authFile ? { authFile: o.authFile } : {}),
  });
  if (o.output) await writeFileAtomic(o.output, yaml, { mode: 0o600 });
  return yaml;
}
