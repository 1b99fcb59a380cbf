// Builds test policies the way a generated policy is laid out: rules text + "\npolicy_data := " +
// JSON. The data is derived at test time from a recorded log in ../shared (never copied here).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRequestLog, type RecordedRequest } from '../../src/policyeval/requests.js';

export const rulesFile = join(import.meta.dirname, 'agent-test.rego');
export const rulesText = readFileSync(rulesFile, 'utf8');

type Obj = Record<string, unknown>;

export function readLog(path: string): RecordedRequest[] {
  return parseRequestLog(readFileSync(path, 'utf8'), path);
}

/** policy_data with one container per CreateContainerRequest of `requests`. */
export function policyDataFromLog(
  requests: RecordedRequest[],
  execCommands: Record<string, string[][]> = {},
): Obj {
  const containers = requests
    .filter((r) => r.type === 'CreateContainerRequest')
    .map((r) => {
      const oci = (r.input as Obj)['OCI'] as Obj;
      const ann = oci['Annotations'] as Record<string, string>;
      const proc = oci['Process'] as Obj;
      const user = proc['User'] as Obj;
      const annotations: Record<string, string> = {};
      for (const k of [
        'io.kubernetes.cri.container-type',
        'io.kubernetes.cri.container-name',
        'io.kubernetes.cri.image-name',
      ]) {
        if (ann[k] !== undefined) annotations[k] = ann[k];
      }
      const name = ann['io.kubernetes.cri.container-name'] ?? 'pause';
      return {
        OCI: {
          Annotations: annotations,
          Process: {
            Args: proc['Args'],
            Env: (proc['Env'] as string[]).filter((e) => !e.startsWith('KUBERNETES_')),
            Cwd: proc['Cwd'],
            User: { UID: user['UID'], GID: user['GID'] },
          },
          Root: { Readonly: (oci['Root'] as Obj)['Readonly'] },
        },
        exec_commands: execCommands[name] ?? [],
      };
    });
  return {
    containers,
    request_defaults: {
      CreateContainerRequest: { allow_env_regex: ['^KUBERNETES_[A-Z0-9_]+=.*$'] },
      CopyFileRequest: ['^/run/kata-containers/shared/containers/[a-z0-9]{64}-[a-z0-9]{16}-'],
    },
  };
}

export function policyText(policyData: Obj, rules = rulesText): string {
  return rules + '\npolicy_data := ' + JSON.stringify(policyData, null, 2);
}

/** Line (1-based) of the first line of the rules file containing `snippet`. */
export function lineOf(snippet: string): number {
  const i = rulesText.split('\n').findIndex((l) => l.includes(snippet));
  if (i < 0) throw new Error(`${snippet} not in ${rulesFile}`);
  return i + 1;
}

/** A request log in the plain JSON-lines format. */
export function jsonLines(requests: Array<{ type: string; input: unknown }>): string {
  return requests.map((r) => JSON.stringify([r.type, r.input])).join('\n') + '\n';
}
