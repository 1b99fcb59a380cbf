// Kubernetes image pull secrets, both ways:
//  - in: the credentials a node would pull a pod's images with (the pod's `imagePullSecrets`, plus
//    those of its ServiceAccount, when the referenced Secrets are in the input YAML, same namespace)
//    as `CredentialOptions.extraEntries`, so policy generation sees the same credentials;
//  - out: a `kubernetes.io/dockerconfigjson` Secret built from the user's resolved credentials.
// Secret values are registered with the logger as soon as they are decoded.
import { Document } from 'yaml';
import type { CredentialOptions, ExtraAuthEntries } from '../credentials/index.js';
import { dockerConfigKey, describeAttempts, resolveCredential } from '../credentials/index.js';
import { ContrastError } from '../internal/errors.js';
import { log, registerSecret } from '../internal/log.js';
import {
  asRecord,
  findWorkloads,
  isRecord,
  listResources,
  dataAt,
  type FindWorkloadsOptions,
  type Workload,
} from './workloads.js';
import type { KubeFile } from './yaml.js';

export const DOCKERCONFIGJSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKERCFG_TYPE = 'kubernetes.io/dockercfg';

interface SecretDoc {
  namespace: string;
  name: string;
  type: string;
  data: Record<string, string>;
  where: string;
}

function namespaceOf(meta: Record<string, unknown>): string {
  const ns = meta['namespace'];
  return typeof ns === 'string' && ns !== '' ? ns : 'default';
}

const secretKinds: ReadonlySet<string> = new Set(['Secret', 'ServiceAccount']);

function collectSecrets(files: KubeFile[]): {
  secrets: Map<string, SecretDoc>;
  serviceAccounts: Map<string, string[]>;
} {
  const secrets = new Map<string, SecretDoc>();
  const serviceAccounts = new Map<string, string[]>();
  for (const r of listResources(files, secretKinds)) {
    const meta = asRecord(r.value['metadata']);
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    const namespace = namespaceOf(meta);
    if (r.kind === 'ServiceAccount') {
      serviceAccounts.set(`${namespace}/${name}`, refNames(r.value['imagePullSecrets']));
      continue;
    }
    if (r.kind !== 'Secret') continue;
    const type = typeof r.value['type'] === 'string' ? r.value['type'] : 'Opaque';
    const isPull = type === DOCKERCONFIGJSON_TYPE || type === DOCKERCFG_TYPE;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(asRecord(r.value['data']))) {
      const decoded = Buffer.from(String(v ?? ''), 'base64').toString('utf8');
      if (isPull) {
        registerSecret(decoded);
        registerSecret(String(v ?? ''));
      }
      data[k] = decoded;
    }
    for (const [k, v] of Object.entries(asRecord(r.value['stringData']))) {
      if (isPull) registerSecret(String(v ?? ''));
      data[k] = String(v ?? '');
    }
    secrets.set(`${namespace}/${name}`, {
      namespace,
      name,
      type,
      data,
      where: `${r.file.path} (document ${r.docIndex + 1})`,
    });
  }
  return { secrets, serviceAccounts };
}

function refNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((e) => asRecord(e)['name']).filter((n): n is string => typeof n === 'string' && n !== '');
}

/** Parses a pull secret's payload into docker config `auths`; says why when it cannot. */
export function pullSecretAuths(secret: {
  type: string;
  data: Record<string, string>;
}): Record<string, unknown> | string {
  if (secret.type === DOCKERCONFIGJSON_TYPE) {
    const raw = secret.data['.dockerconfigjson'];
    if (raw === undefined) return 'has no .dockerconfigjson key';
    try {
      const j = JSON.parse(raw) as unknown;
      if (!isRecord(j) || !isRecord(j['auths'])) return '.dockerconfigjson has no "auths" object';
      return j['auths'];
    } catch {
      return '.dockerconfigjson is not valid JSON';
    }
  }
  if (secret.type === DOCKERCFG_TYPE) {
    const raw = secret.data['.dockercfg'];
    if (raw === undefined) return 'has no .dockercfg key';
    try {
      const j = JSON.parse(raw) as unknown;
      // Legacy format: the `auths` map itself (some tools still wrap it).
      if (!isRecord(j)) return '.dockercfg is not a JSON object';
      return isRecord(j['auths']) ? j['auths'] : j;
    } catch {
      return '.dockercfg is not valid JSON';
    }
  }
  return `is of type ${secret.type}, not ${DOCKERCONFIGJSON_TYPE} or ${DOCKERCFG_TYPE}`;
}

/** Names of the pull secrets a pod uses: its own, then its ServiceAccount's (as admission adds them). */
function podPullSecretNames(w: Workload, serviceAccounts: Map<string, string[]>): string[] {
  const spec = [...w.templatePath, 'spec'];
  const own = refNames(dataAt(w, [...spec, 'imagePullSecrets']));
  const name = dataAt(w, [...spec, 'serviceAccountName']);
  const sa = typeof name === 'string' && name !== '' ? name : 'default';
  const fromSa = serviceAccounts.get(`${w.namespace}/${sa}`) ?? [];
  return [...new Set([...own, ...fromSa])];
}

/** extraEntries for one workload (its pull secrets found in `files`, in reference order). */
export function workloadPullSecretEntries(w: Workload, files: KubeFile[]): ExtraAuthEntries[] {
  return entriesFor([w], files);
}

/**
 * extraEntries for the given workloads (default: the confidential ones in `files`): every pull
 * secret they reference that is in the input YAML, in the namespace of the pod, deduplicated in
 * first-reference order. Missing or unusable secrets are reported (debug/warn) and skipped: the
 * usual credential lookup still applies after these entries.
 */
export function pullSecretEntries(
  files: KubeFile[],
  workloads?: Workload[],
  options: FindWorkloadsOptions = {},
): ExtraAuthEntries[] {
  return entriesFor(workloads ?? findWorkloads(files, options), files);
}

function entriesFor(workloads: Workload[], files: KubeFile[]): ExtraAuthEntries[] {
  const { secrets, serviceAccounts } = collectSecrets(files);
  const out: ExtraAuthEntries[] = [];
  const done = new Set<string>();
  for (const w of workloads) {
    for (const name of podPullSecretNames(w, serviceAccounts)) {
      const key = `${w.namespace}/${name}`;
      if (done.has(key)) continue;
      done.add(key);
      const secret = secrets.get(key);
      if (!secret) {
        const elsewhere = [...secrets.values()]
          .filter((s) => s.name === name)
          .map((s) => `${s.namespace}/${s.name}`);
        log.debug(
          `${w.kind} ${w.namespace}/${w.name}: image pull secret ${key} is not in the input YAML${elsewhere.length ? ` (found ${elsewhere.join(', ')}: other namespace, not used)` : ''}; the usual credential lookup applies`,
        );
        continue;
      }
      const auths = pullSecretAuths(secret);
      if (typeof auths === 'string') {
        log.warn(`image pull secret ${key} (${secret.where}) ${auths}; ignoring it`);
        continue;
      }
      out.push({
        auths: auths as ExtraAuthEntries['auths'],
        source: { type: 'pull-secret', description: `pull secret ${key}` },
      });
    }
  }
  return out;
}

/** Adds pull-secret entries in front of any extraEntries already in `options` (a copy is returned). */
export function withPullSecrets(
  options: CredentialOptions | undefined,
  entries: ExtraAuthEntries[],
): CredentialOptions {
  return { ...(options ?? {}), extraEntries: [...entries, ...(options?.extraEntries ?? [])] };
}

export interface PullSecretOptions extends CredentialOptions {
  name?: string;
  namespace?: string;
}

/**
 * A `kubernetes.io/dockerconfigjson` Secret (YAML text) with the user's resolved Basic credential
 * for `registry`. Refuses identity tokens and registry tokens (the kubelet sends what is in the
 * secret as Basic auth; an OAuth2 refresh token only works as a password on some registries, and a
 * registry token expires within minutes) and says where the credential came from.
 */
export async function pullSecretYaml(registry: string, options: PullSecretOptions = {}): Promise<string> {
  const cred = await resolveCredential(registry, options);
  const from = cred.source.description;
  if (cred.kind === 'anonymous') {
    throw new ContrastError(`no credential found for ${cred.registry}`, {
      code: 'NO_CREDENTIAL',
      hint: `log in first (contrast login ${cred.registry} -u USER --password-stdin); looked at:\n${describeAttempts(cred)}`,
    });
  }
  if (cred.kind === 'identity-token') {
    throw new ContrastError(
      `the credential for ${cred.registry} (${from}) is an identity token (OAuth2 refresh token), which the kubelet cannot use on every registry`,
      {
        code: 'IDENTITY_TOKEN',
        hint:
          'create a registry access token or robot account and log in with it: contrast login ' +
          `${cred.registry} -u USER --password-stdin`,
      },
    );
  }
  if (cred.kind === 'registry-token' || cred.password === undefined || cred.username === null) {
    throw new ContrastError(
      `the credential for ${cred.registry} (${from}) is a short-lived registry token, not a user name and password`,
      {
        code: 'REGISTRY_TOKEN',
        hint: `log in with a long-lived access token: contrast login ${cred.registry} -u USER --password-stdin`,
      },
    );
  }
  const auth = Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
  registerSecret(auth);
  const config = JSON.stringify({
    auths: { [dockerConfigKey(cred.registry)]: { username: cred.username, password: cred.password, auth } },
  });
  const encoded = Buffer.from(config).toString('base64');
  registerSecret(encoded);
  log.info(`pull secret for ${cred.registry} built from ${from}`);
  const doc = new Document({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: options.name ?? 'contrast-pull-secret', namespace: options.namespace ?? 'default' },
    type: DOCKERCONFIGJSON_TYPE,
    data: { '.dockerconfigjson': encoded },
  });
  return doc.toString({ lineWidth: 0 });
}
