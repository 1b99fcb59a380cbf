// A reviewer's view of one policy: what each container the policy admits may be, and the
// sandbox-wide switches, read from the policy's `policy_data`. The reading is deliberately generic:
// fields this module does not know (the policy data shape grows with the runtime) are kept under
// `other` and shown and diffed as they are, never dropped and never a crash.
import { createHash } from 'node:crypto';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { arr, obj, strs, type Obj } from '../policyeval/loose.js';

export interface EnvEntry {
  name: string;
  value: string;
  /** True when the value is a template or pattern (`$(…)` placeholders, regex), not a literal. */
  pattern: boolean;
}

export interface MountView {
  destination: string;
  source: string;
  type: string;
  options: string[];
  readOnly: boolean;
}

export interface UserView {
  uid: unknown;
  gid: unknown;
  groups: unknown[];
  name: string;
}

export interface CapabilitiesView {
  /** Bounding set with `$(default_caps)`-style placeholders expanded from `common`. */
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
  /** `default`, `privileged`, `none` or `custom`: how the sets compare with `common`'s lists. */
  summary: string;
}

export interface ContainerView {
  name: string;
  /** `sandbox` for the pause container, else `container` (from io.kubernetes.cri.container-type). */
  type: string;
  /** The image the policy admits: the digest-pinned reference for guest pull, else the image name. */
  image: string;
  /** `sha256:…` when the policy pins the image by digest (guest pull). */
  imageDigest?: string;
  /** Host pull: the dm-verity roots of the layers, top first (each layer is pinned by its root). */
  layers?: string[];
  user: UserView;
  args: string[];
  env: EnvEntry[];
  cwd: string;
  terminal: unknown;
  mounts: MountView[];
  capabilities: CapabilitiesView;
  privileged: boolean;
  noNewPrivileges: unknown;
  readOnlyRoot: unknown;
  /** Commands `kubectl exec`, probes and hooks may run in this container. */
  exec: string[][];
  /** Storages the agent may mount for this container (image layers, guest pull, volumes). */
  storages: Obj[];
  /** Device paths (volumeDevices, GPUs…). */
  devices: unknown[];
  /** Pod annotations admitted on the container, minus the runtime's bookkeeping ones. */
  annotations: Record<string, unknown>;
  sysctls: Record<string, unknown>;
  /** Linux namespaces the container gets (types). */
  namespaces: string[];
  maskedPaths: string[];
  readonlyPaths: string[];
  ociVersion: unknown;
  sandboxPidns: unknown;
  /** Fields of the container's policy data this view does not interpret, by path. */
  other: Record<string, unknown>;
}

export interface SandboxView {
  storages: unknown[];
  /** Deny-lists for UpdateInterface/UpdateRoutes/AddARPNeighbors requests. */
  network: Record<string, unknown>;
  /** CopyFileRequest rules (path prefixes the host may copy files to). */
  copyFile: unknown;
  /** ReadStream/WriteStream/CloseStdin switches. */
  streams: Record<string, unknown>;
  /** ExecProcessRequest: commands allowed in every container. */
  exec: unknown;
  /** Environment patterns every container may carry (Kubernetes service links…). */
  envPatterns: unknown;
  /** Other request_defaults entries (UpdateEphemeralMounts…, and keys this version does not know). */
  requests: Record<string, unknown>;
  /** Initdata entries besides the policy (e.g. Contrast's `contrast.insecure-debug`). */
  debug: Record<string, unknown>;
  /** cluster_config (pause image, guest pull…). */
  cluster: unknown;
  /** policy_data.common: the placeholders (`$(sfprefix)`…) and capability lists the rules expand. */
  common: unknown;
  /** Other top-level policy_data entries this view does not interpret. */
  other: Record<string, unknown>;
}

/** Which workload a policy belongs to and where it was read from. */
interface PolicyOrigin {
  kind: string;
  name: string;
  namespace: string;
  /** Where it was read from (file, annotation). */
  origin: string;
  /** The annotation carrying the policy, or the kind of file. */
  annotation: string;
  /** The digest the TEE measures (manifest.json `Policies` key). */
  hash: string;
}

export interface WorkloadView extends PolicyOrigin {
  /** sha256 of the Rego rules (the policy text before `policy_data`). */
  rules: string;
  containers: ContainerView[];
  sandbox: SandboxView;
}

export interface PolicyInput extends PolicyOrigin {
  text: string;
  initdataEntries?: Record<string, unknown>;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}
function rest(o: Obj, known: readonly string[], prefix: string, into: Obj): void {
  for (const [k, v] of Object.entries(o)) if (!known.includes(k)) into[`${prefix}${k}`] = v;
}
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * Splits a policy text into its rules and its `policy_data` value. Generators write
 * `<rules>\npolicy_data := <JSON>` (genpolicy's layout); the JSON value is scanned with its brackets
 * balanced, so rules after it (hand-written policies) do not break the reading.
 */
export function splitPolicy(text: string, where: string): { rules: string; data: Obj } {
  const m = /^policy_data\s*:?=\s*/m.exec(text);
  if (!m) throw new ContrastError(`${where}: the policy has no "policy_data :=" document`);
  const start = m.index + m[0].length;
  const end = valueEnd(text, start);
  let data: unknown;
  try {
    data = JSON.parse(text.slice(start, end));
  } catch (err) {
    throw new ContrastError(`${where}: policy_data is not a JSON object: ${errorMessage(err)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ContrastError(`${where}: policy_data is not an object`);
  return { rules: text.slice(0, m.index) + text.slice(end), data: data as Obj };
}

function valueEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

const BOOKKEEPING = /^(io\.kubernetes\.cri\.|io\.katacontainers\.pkg\.|nerdctl\/)/;
const CONTAINER_KNOWN = ['OCI', 'storages', 'devices', 'sandbox_pidns', 'exec_commands', 'image_guest_pull'];
const OCI_KNOWN = ['Version', 'Process', 'Root', 'Mounts', 'Annotations', 'Linux'];
const PROCESS_KNOWN = ['Terminal', 'User', 'Args', 'Env', 'Cwd', 'Capabilities', 'NoNewPrivileges'];
const LINUX_KNOWN = ['Namespaces', 'MaskedPaths', 'ReadonlyPaths', 'Devices', 'Sysctl'];

function expandCaps(list: unknown, common: Obj): string[] {
  return strs(list).flatMap((c) => {
    const m = /^\$\((\w+)\)$/.exec(c);
    return m && Array.isArray(common[m[1]!]) ? strs(common[m[1]!]) : [c];
  });
}

function sameSet(a: string[], b: string[]): boolean {
  const sb = new Set(b);
  return new Set(a).size === sb.size && a.every((x) => sb.has(x));
}

/** A value is a pattern when our rules match it as one: `$(…)` placeholders or an anchored regex. */
function isPattern(value: string): boolean {
  return value.includes('$(') || value.startsWith('^');
}

export function containerView(raw: unknown, index: number, common: Obj): ContainerView {
  const c = obj(raw);
  const oci = obj(c['OCI']);
  const proc = obj(oci['Process']);
  const linux = obj(oci['Linux']);
  const ann = obj(oci['Annotations']);
  const other: Obj = {};
  rest(c, CONTAINER_KNOWN, '', other);
  rest(oci, OCI_KNOWN, 'OCI.', other);
  rest(proc, PROCESS_KNOWN, 'OCI.Process.', other);
  rest(linux, LINUX_KNOWN, 'OCI.Linux.', other);
  rest(obj(oci['Root']), ['Readonly'], 'OCI.Root.', other);
  rest(obj(proc['User']), ['UID', 'GID', 'AdditionalGids', 'Username'], 'OCI.Process.User.', other);
  rest(
    obj(proc['Capabilities']),
    ['Ambient', 'Bounding', 'Effective', 'Inheritable', 'Permitted'],
    'OCI.Process.Capabilities.',
    other,
  );

  const type = str(ann['io.kubernetes.cri.container-type']) || 'container';
  const name = str(ann['io.kubernetes.cri.container-name']) || (type === 'sandbox' ? 'pause' : `#${index}`);
  const storages = arr(c['storages']).map(obj);
  const guestPull = storages.find((s) => s['driver'] === 'image_guest_pull');
  const overlay = storages.find((s) => s['fstype'] === 'fuse3.kata-overlay');
  let image = str(ann['io.kubernetes.cri.image-name']);
  let imageDigest: string | undefined;
  let layers: string[] | undefined;
  // Guest pull pins the image either in the container's `image_guest_pull` ({reference, digest}) or,
  // in older policy data, as the source of an image_guest_pull storage.
  const pin = obj(c['image_guest_pull']);
  if (typeof pin['reference'] === 'string' && pin['reference'] !== '') {
    image = pin['reference'];
    imageDigest =
      typeof pin['digest'] === 'string' ? pin['digest'] : /@(sha256:[0-9a-f]{64})/.exec(image)?.[1];
  } else if (guestPull && typeof guestPull['source'] === 'string' && guestPull['source'] !== '') {
    image = guestPull['source'];
    imageDigest = /@(sha256:[0-9a-f]{64})/.exec(image)?.[1];
  }
  if (overlay) {
    const roots = strs(overlay['options'])[1];
    if (roots !== undefined) layers = roots.split(':').filter((r) => r !== '');
  }
  if (image === '' && type === 'sandbox') image = '(pause)';

  const user = obj(proc['User']);
  const caps = obj(proc['Capabilities']);
  const bounding = expandCaps(caps['Bounding'], common);
  const privilegedCaps = strs(common['privileged_caps']);
  const defaultCaps = strs(common['default_caps']);
  const summary =
    bounding.length === 0
      ? 'none'
      : privilegedCaps.length > 0 && sameSet(bounding, privilegedCaps)
        ? 'privileged'
        : defaultCaps.length > 0 && sameSet(bounding, defaultCaps)
          ? 'default'
          : 'custom';
  const mounts = arr(oci['Mounts']).map((m): MountView => {
    const o = obj(m);
    const options = strs(o['options']);
    return {
      destination: str(o['destination']),
      source: str(o['source']),
      type: str(o['type_'] ?? o['type']),
      options,
      readOnly: options.includes('ro'),
    };
  });
  const env = strs(proc['Env']).map((e): EnvEntry => {
    const i = e.indexOf('=');
    const name = i < 0 ? e : e.slice(0, i);
    const value = i < 0 ? '' : e.slice(i + 1);
    return { name, value, pattern: isPattern(value) || isPattern(name) };
  });
  const devices = [
    ...arr(c['devices']).map((d) =>
      typeof d === 'object' && d !== null ? (obj(d)['container_path'] ?? d) : d,
    ),
  ];
  const ociDevices = arr(linux['Devices']);
  if (ociDevices.length > 0) other['OCI.Linux.Devices'] = ociDevices;
  const annotations: Obj = {};
  for (const [k, v] of Object.entries(ann)) if (!BOOKKEEPING.test(k)) annotations[k] = v;
  return {
    name,
    type,
    image,
    ...(imageDigest ? { imageDigest } : {}),
    ...(layers ? { layers } : {}),
    user: {
      uid: user['UID'],
      gid: user['GID'],
      groups: arr(user['AdditionalGids']),
      name: str(user['Username']),
    },
    args: strs(proc['Args']),
    env,
    cwd: str(proc['Cwd']),
    terminal: proc['Terminal'],
    mounts,
    capabilities: {
      bounding,
      effective: expandCaps(caps['Effective'], common),
      permitted: expandCaps(caps['Permitted'], common),
      inheritable: expandCaps(caps['Inheritable'], common),
      ambient: expandCaps(caps['Ambient'], common),
      summary,
    },
    privileged: summary === 'privileged',
    noNewPrivileges: proc['NoNewPrivileges'],
    readOnlyRoot: obj(oci['Root'])['Readonly'],
    exec: arr(c['exec_commands']).map(strs),
    storages,
    devices,
    annotations,
    sysctls: obj(linux['Sysctl']),
    namespaces: arr(linux['Namespaces']).map((n) =>
      obj(n)['Path'] ? `${str(obj(n)['Type'])}=${str(obj(n)['Path'])}` : str(obj(n)['Type']),
    ),
    maskedPaths: strs(linux['MaskedPaths']),
    readonlyPaths: strs(linux['ReadonlyPaths']),
    ociVersion: oci['Version'],
    sandboxPidns: c['sandbox_pidns'],
    other,
  };
}

const NETWORK = ['UpdateInterfaceRequest', 'UpdateRoutesRequest', 'AddARPNeighborsRequest'];
const STREAMS = ['ReadStreamRequest', 'WriteStreamRequest', 'CloseStdinRequest'];

export function sandboxView(data: Obj, initdataEntries: Record<string, unknown> = {}): SandboxView {
  const defaults = obj(data['request_defaults']);
  const pick = (keys: string[]): Obj => {
    const out: Obj = {};
    for (const k of keys) if (defaults[k] !== undefined) out[k] = defaults[k];
    return out;
  };
  const requests: Obj = {};
  const createContainer = obj(defaults['CreateContainerRequest']);
  for (const [k, v] of Object.entries(defaults)) {
    if ([...NETWORK, ...STREAMS, 'CopyFileRequest', 'ExecProcessRequest'].includes(k)) continue;
    if (k === 'CreateContainerRequest') {
      for (const [ck, cv] of Object.entries(createContainer))
        if (ck !== 'allow_env_regex') requests[`${k}.${ck}`] = cv;
      continue;
    }
    requests[k] = v;
  }
  const other: Obj = {};
  for (const [k, v] of Object.entries(data)) {
    if (['containers', 'request_defaults', 'cluster_config', 'common'].includes(k)) continue;
    if (k === 'sandbox') {
      for (const [sk, sv] of Object.entries(obj(v))) if (sk !== 'storages') other[`sandbox.${sk}`] = sv;
      continue;
    }
    other[k] = v;
  }
  return {
    storages: arr(obj(data['sandbox'])['storages']),
    network: pick(NETWORK),
    copyFile: defaults['CopyFileRequest'],
    streams: pick(STREAMS),
    exec: defaults['ExecProcessRequest'],
    envPatterns: createContainer['allow_env_regex'],
    requests,
    debug: { ...initdataEntries },
    cluster: data['cluster_config'],
    common: data['common'],
    other,
  };
}

/** The view of one policy; throws a ContrastError naming `input.origin` when it cannot be read. */
export function workloadView(input: PolicyInput): WorkloadView {
  const { rules, data } = splitPolicy(input.text, input.origin);
  const common = obj(data['common']);
  if (data['containers'] !== undefined && !Array.isArray(data['containers']))
    throw new ContrastError(`${input.origin}: policy_data.containers is not a list`);
  return {
    kind: input.kind,
    name: input.name,
    namespace: input.namespace,
    origin: input.origin,
    annotation: input.annotation,
    hash: input.hash,
    rules: sha256(rules.trim()),
    containers: arr(data['containers']).map((c, i) => containerView(c, i, common)),
    sandbox: sandboxView(data, input.initdataEntries),
  };
}

/** `Kind/namespace/name`, the identity of a workload across two inputs. */
export function workloadKey(w: Pick<WorkloadView, 'kind' | 'name' | 'namespace'>): string {
  return w.namespace ? `${w.kind}/${w.namespace}/${w.name}` : `${w.kind}/${w.name}`;
}

/** Short label for messages: `web` for a Deployment named web, `Pod/web` … */
export function workloadLabel(w: Pick<WorkloadView, 'kind' | 'name' | 'namespace'>): string {
  return w.kind ? `${w.kind}/${w.name}` : w.name;
}
