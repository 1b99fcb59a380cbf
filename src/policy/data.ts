// Builds genpolicy-compatible `policy_data` for one workload: what each container of the pod is
// allowed to be when the Kata runtime asks the agent to create it.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import { parseGroup, parsePasswd } from '../image/index.js';
import type { AnalyzedImage } from '../image/types.js';
import { asRecord, documentToJS, isRecord, podTemplate } from '../kube/index.js';
import type { ConfigObjects, Workload } from '../kube/index.js';
import { parseReference, repositoryName } from '../reference/index.js';
import { expandK8s, escapeRegex, templateValue } from './expand.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from './initdata.js';
import type { ContainerTemplate, Flavour, PolicySettings, StorageSpec, VolumeTemplate } from './settings.js';

const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface PolicyMount {
  destination: string;
  source: string;
  type_: string;
  options: string[];
  /** Pause /sys of a pod with a privileged container: containerd >= 2.0.4 mounts it rw, older ro. */
  sys_rw_or_ro?: boolean;
}

export interface ContainerPolicy {
  OCI: {
    Version: string;
    Process: {
      Terminal: boolean;
      User: { UID: number; GID: number; AdditionalGids: number[]; Username: string };
      Args: string[];
      Env: string[];
      Cwd: string;
      Capabilities: {
        Ambient: string[];
        Bounding: string[];
        Effective: string[];
        Inheritable: string[];
        Permitted: string[];
      };
      NoNewPrivileges: boolean;
    };
    Root: { Path: string; Readonly: boolean };
    Mounts: PolicyMount[];
    Annotations: Record<string, string>;
    Linux: {
      Namespaces: Array<{ Type: string; Path: string }>;
      MaskedPaths: string[];
      ReadonlyPaths: string[];
      Devices: Array<{ Type: string; Path: string }>;
      Sysctl?: Record<string, string>;
    };
  };
  storages: StorageSpec[];
  devices: Array<{ container_path: string; type_?: string; vm_path?: string }>;
  sandbox_pidns: boolean;
  exec_commands: string[][];
  /** Guest pull: the image the container's image_guest_pull storage must name (our rules). */
  image_guest_pull?: ImagePin;
  /** Annotations the runtime may add: key regex → value regex (genpolicy's field). */
  runtime_anno_patterns?: Record<string, string>;
}

export interface PolicyData {
  containers: ContainerPolicy[];
  common: PolicySettings['common'];
  sandbox: PolicySettings['sandbox'];
  request_defaults: PolicySettings['request_defaults'];
  cluster_config?: PolicySettings['cluster_config'];
  /** genpolicy's device settings (devices.vfio): its rules read them for every container. */
  devices?: unknown;
}

export interface BuildContext {
  workload: Workload;
  settings: PolicySettings;
  flavour: Flavour;
  /** Analyzed images keyed by the image string as written in the YAML (and the pause image setting). */
  images: ReadonlyMap<string, AnalyzedImage>;
  config: ConfigObjects;
}

type Json = Record<string, unknown>;

/** Builds policy_data for a workload. Throws ContrastError naming the workload and field on bad input. */
export function buildPolicyData(ctx: BuildContext): PolicyData {
  const { workload: w, settings } = ctx;
  const { metadata, spec } = podTemplate(w);
  const where = `${w.file.path}: ${w.kind} ${w.namespace}/${w.name}`;
  const containers: ContainerPolicy[] = [];
  const sandboxName = sandboxNameValue(w);

  if (spec['hostUsers'] === false) {
    throw new ContrastError(
      `${where}: hostUsers: false (user namespaces) is not supported in Kata confidential pods`,
      {
        code: 'POLICY_USERNS',
        hint: 'remove hostUsers: false; the agent policy rejects containers with UID/GID mappings',
      },
    );
  }
  containers.push(pauseContainer(ctx, spec, sandboxName, where));
  const volumes = podVolumes(w, spec, where);
  const inits = arrayOf(spec['initContainers']);
  // genpolicy's documented order: init containers reversed, then app containers in order.
  for (const c of [...inits].reverse())
    containers.push(appContainer(ctx, spec, metadata, c, volumes, sandboxName, where, true));
  for (const c of arrayOf(spec['containers']))
    containers.push(appContainer(ctx, spec, metadata, c, volumes, sandboxName, where, false));

  const data: PolicyData = {
    containers,
    common: settings.common,
    sandbox: { storages: settings.sandbox.storages },
    request_defaults: settings.request_defaults,
  };
  if (ctx.flavour === 'guest-pull') data.cluster_config = settings.cluster_config;
  if (settings.devices !== undefined) data.devices = settings.devices;
  return data;
}

/** The sandbox name the pod will get: its name, or a regex for controller-created pods. */
export function sandboxNameValue(w: Workload): string {
  const n = escapeRegex(w.name);
  // Kubernetes appends 5 characters (SimpleNameGenerator); any non-empty [a-z0-9] suffix is accepted,
  // as genpolicy's suite expects (createcontainer/generate_name): the prefix carries the identity.
  if (w.generateName) return `^${n}[a-z0-9]+$`;
  switch (w.kind) {
    case 'Pod':
      return w.name;
    case 'Deployment':
      return `^${n}-[a-z0-9]{1,10}-[a-z0-9]{5}$`;
    case 'StatefulSet':
      return `^${n}-[0-9]+$`;
    case 'Job':
      return `^${n}-([0-9]+-)?[a-z0-9]{5}$`;
    case 'CronJob':
      return `^${n}-[0-9]+-([0-9]+-)?[a-z0-9]{5}$`;
    default: // DaemonSet, ReplicaSet, ReplicationController
      return `^${n}-[a-z0-9]{5}$`;
  }
}

/** `io.kubernetes.cri.image-name`: the YAML string, `:latest` appended only when it has no `:` at all. */
export function criImageName(image: string): string {
  return image.includes(':') ? image : `${image}:latest`;
}

function lookupImage(ctx: BuildContext, image: string, where: string): AnalyzedImage {
  const img = ctx.images.get(image);
  if (!img)
    throw new ContrastError(`${where}: image "${image}" was not analyzed`, { code: 'POLICY_IMAGE_MISSING' });
  return img;
}

function pauseContainer(ctx: BuildContext, spec: Json, sandboxName: string, where: string): ContainerPolicy {
  const { settings, workload: w } = ctx;
  const tmpl = settings.pause_container;
  const image = lookupImage(ctx, settings.cluster_config.pause_container_image, `${where}: pause container`);
  const cfg = image.config.config ?? {};
  // The pod-level securityContext applies to the sandbox container too (containerd); without it the
  // pause user comes from the id policy (v1: 65535) or the pause image (v2).
  const podSc = asRecord(spec['securityContext']);
  const user =
    podSc['runAsUser'] !== undefined
      ? resolveUser(image, podSc, {}, `${where}: pause container`)
      : settings.cluster_config.pause_container_id_policy === 'v1'
        ? { UID: 65535, GID: 65535, AdditionalGids: [65535], Username: '' }
        : {
            UID: image.user.uid,
            GID: image.user.gid,
            AdditionalGids: sortedSet([image.user.gid, ...image.user.additionalGids]),
            Username: '',
          };
  const annotations: Record<string, string> = {
    ...tmpl.Annotations,
    'io.kubernetes.cri.sandbox-name': sandboxName,
    'io.kubernetes.cri.sandbox-namespace': policyNamespace(w),
  };
  const hostNetwork = spec['hostNetwork'] === true;
  // containerd names the pod's network namespace (genpolicy policy.rs adds the same pattern).
  if (!('nerdctl/network-namespace' in annotations))
    annotations['nerdctl/network-namespace'] =
      `^/var/run/netns/cni${hostNetwork ? 'test' : ''}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`;
  const namespaces = [
    { Type: 'ipc', Path: '' },
    ...(hostNetwork ? [] : [{ Type: 'uts', Path: '' }]),
    { Type: 'mount', Path: '' },
  ];
  return {
    OCI: {
      Version: settings.kata_config.oci_version,
      Process: {
        Terminal: false,
        User: user,
        Args: tmpl.Process?.Args ?? [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])],
        Env: cfg.Env && cfg.Env.length > 0 ? [...cfg.Env] : [DEFAULT_PATH_ENV],
        Cwd: cfg.WorkingDir || '/',
        Capabilities: capabilitySets(settings, false, undefined),
        NoNewPrivileges: true,
      },
      Root: { Path: tmpl.Root.Path, Readonly: tmpl.Root.Readonly },
      Mounts: [
        ...defaultMounts(false, true).map((m) =>
          m.destination === '/sys' && podHasPrivileged(spec) ? { ...m, sys_rw_or_ro: true } : m,
        ),
        ...tmpl.Mounts.map((m) => ({
          destination: m.destination,
          source: templateMountSource(m.source, m.destination),
          type_: m.type_,
          options: [...m.options],
        })),
      ],
      Annotations: sortKeys(annotations),
      Linux: {
        Namespaces: namespaces,
        MaskedPaths: [...tmpl.Linux.MaskedPaths],
        ReadonlyPaths: [...tmpl.Linux.ReadonlyPaths],
        Devices: [],
        Sysctl: sortKeys({ ...(tmpl.Linux.Sysctl ?? {}), ...podSysctls(spec) }),
      },
    },
    storages: imageStorages(ctx, settings.cluster_config.pause_container_image, image, where),
    devices: [],
    sandbox_pidns: false,
    exec_commands: [],
    ...(ctx.flavour === 'guest-pull'
      ? { image_guest_pull: imagePin(settings.cluster_config.pause_container_image, image) }
      : {}),
  };
}

function appContainer(
  ctx: BuildContext,
  spec: Json,
  podMeta: Json,
  c: Json,
  volumes: ReadonlyMap<string, PodVolume>,
  sandboxName: string,
  podWhere: string,
  isInit: boolean,
): ContainerPolicy {
  const { settings, workload: w } = ctx;
  const tmpl: ContainerTemplate = settings.other_container;
  const name = typeof c['name'] === 'string' ? c['name'] : '';
  const where = `${podWhere}: ${isInit ? 'init container' : 'container'} "${name}"`;
  const imageRef = typeof c['image'] === 'string' ? c['image'] : '';
  if (!name) throw new ContrastError(`${podWhere}: a container has no name`);
  if (!imageRef) throw new ContrastError(`${where}: no image`);
  const gpus = gpuCount(settings, c, where);
  const image = lookupImage(ctx, imageRef, where);
  const cfg = image.config.config ?? {};
  const podSc = asRecord(spec['securityContext']);
  const sc = asRecord(c['securityContext']);
  const privileged = sc['privileged'] === true;

  // --- process: args
  const command = stringArray(c['command'], `${where}: command`);
  const args = stringArray(c['args'], `${where}: args`);
  let argv: string[];
  if (command !== undefined) argv = [...command, ...(args ?? [])];
  else argv = [...(cfg.Entrypoint ?? []), ...(args ?? cfg.Cmd ?? [])];

  // --- env
  const tty = c['tty'] === true ? true : c['tty'] === false ? false : cfg.Tty === true;
  const env = new EnvList();
  for (const e of cfg.Env && cfg.Env.length > 0 ? cfg.Env : [DEFAULT_PATH_ENV]) env.push(e);
  if (tty) env.push('TERM=xterm');
  env.push('HOSTNAME=$(host-name)');
  const defined = new Map<string, string>(); // what $(VAR) may refer to: the container's own env
  const define = (k: string, v: string) => {
    defined.set(k, v);
    env.push(`${k}=${v}`);
  };
  for (const [k, v] of envFromVars(ctx, c, where)) define(k, v);
  for (const raw of arrayOf(c['env'])) {
    const k = raw['name'];
    if (typeof k !== 'string' || k === '') throw new ContrastError(`${where}: env entry without a name`);
    let v: string | undefined;
    if (raw['valueFrom'] !== undefined)
      v = envValueFrom(ctx, podMeta, spec, asRecord(raw['valueFrom']), k, where);
    else
      v = expandK8s(raw['value'] === undefined || raw['value'] === null ? '' : String(raw['value']), (n) =>
        defined.get(n),
      );
    if (v !== undefined) define(k, v);
  }
  for (const e of tmpl.Process?.Env ?? []) env.push(e);
  // The Job controller gives Indexed Jobs' pods JOB_COMPLETION_INDEX (kubernetes
  // pkg/controller/job/indexed_job_utils.go addCompletionIndexEnvVariable).
  if (w.kind === 'Job' || w.kind === 'CronJob') env.push('JOB_COMPLETION_INDEX=$(job-completion-index)');
  argv = argv.map((a) => expandK8s(a, (n) => defined.get(n)));

  // --- user
  const user = resolveUser(image, podSc, sc, where);

  // --- mounts, storages, devices
  const mounts: PolicyMount[] = [...defaultMounts(privileged, false)];
  const storages: StorageSpec[] = imageStorages(ctx, imageRef, image, where);
  const yamlMounts = arrayOf(c['volumeMounts']);
  const targeted = new Set(yamlMounts.map((m) => String(m['mountPath'] ?? '')));
  const terminationPath =
    typeof c['terminationMessagePath'] === 'string' ? c['terminationMessagePath'] : '/dev/termination-log';
  const automount = spec['automountServiceAccountToken'] !== false;
  for (const m of tmpl.Mounts) {
    let destination = m.destination;
    if (destination === '/dev/termination-log') destination = terminationPath;
    if (!settings.mount_destinations.includes(m.destination) && !targeted.has(m.destination)) continue;
    if (targeted.has(destination)) continue; // the YAML mount wins
    if (destination === '/var/run/secrets/kubernetes.io/serviceaccount' && !automount) continue;
    const options = [...m.options];
    // genpolicy's settings leave the rootfs access of these two files to the generator (as
    // containerd mounts them: rw unless readOnlyRootFilesystem).
    if (
      (destination === '/etc/hostname' || destination === '/etc/resolv.conf') &&
      !options.includes('rw') &&
      !options.includes('ro')
    )
      options.push(sc['readOnlyRootFilesystem'] === true ? 'ro' : 'rw');
    mounts.push({ destination, source: templateMountSource(m.source, destination), type_: m.type_, options });
  }
  for (const vm of yamlMounts) {
    const { mount, storage } = volumeMount(ctx, vm, volumes, where);
    mounts.push(mount);
    if (storage) storages.push(storage);
  }
  mounts.push(...imageVolumeMounts(settings, cfg.Volumes, yamlMounts));
  const devices: ContainerPolicy['devices'] = [];
  const linuxDevices: Array<{ Type: string; Path: string }> = [];
  for (const d of arrayOf(c['volumeDevices'])) {
    const p = volumeDevicePath(ctx.workload, d, volumes, where);
    devices.push({ container_path: p });
    linuxDevices.push({ Type: 'b', Path: p });
  }

  // --- annotations
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(podMeta['annotations']))) {
    if (k === POLICY_ANNOTATION || k === INITDATA_ANNOTATION) continue;
    annotations[k] = String(v);
  }
  Object.assign(annotations, tmpl.Annotations, {
    'io.kubernetes.cri.sandbox-name': sandboxName,
    'io.kubernetes.cri.image-name':
      ctx.flavour === 'guest-pull' ? pinnedReference(imageRef, image) : criImageName(imageRef),
    'io.kubernetes.cri.sandbox-namespace': policyNamespace(w),
    'io.kubernetes.cri.container-name': name,
  });

  // --- exec commands from probes and hooks
  const exec: string[][] = [];
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const cmd = asRecord(asRecord(c[probe])['exec'])['command'];
    if (Array.isArray(cmd)) exec.push(cmd.map(String));
  }
  for (const hook of ['postStart', 'preStop']) {
    const cmd = asRecord(asRecord(asRecord(c['lifecycle'])[hook])['exec'])['command'];
    if (Array.isArray(cmd)) exec.push(cmd.map(String));
  }

  // The runtime's default sysctls (containerd 2.x: settings Linux.Sysctl), then the pod's.
  const sysctls: Record<string, string> = { ...(tmpl.Linux.Sysctl ?? {}) };
  for (const s of arrayOf(podSc['sysctls'])) sysctls[String(s['name'])] = String(s['value'] ?? '');
  const linux: ContainerPolicy['OCI']['Linux'] = {
    Namespaces: [
      { Type: 'ipc', Path: '' },
      { Type: 'uts', Path: '' },
      { Type: 'mount', Path: '' },
    ],
    // containerd masks nothing for privileged containers or with procMount: Unmasked.
    MaskedPaths: privileged || sc['procMount'] === 'Unmasked' ? [] : [...tmpl.Linux.MaskedPaths],
    ReadonlyPaths: privileged || sc['procMount'] === 'Unmasked' ? [] : [...tmpl.Linux.ReadonlyPaths],
    Devices: linuxDevices,
  };
  // Present even when empty: genpolicy's rules read it.
  linux.Sysctl = sortKeys(sysctls);

  const allowEscalation = sc['allowPrivilegeEscalation'];
  return {
    OCI: {
      Version: settings.kata_config.oci_version,
      Process: {
        Terminal: tty,
        User: user,
        Args: argv.map(templateValue),
        Env: env.values().map(templateValue),
        Cwd: (typeof c['workingDir'] === 'string' && c['workingDir']) || cfg.WorkingDir || '/',
        Capabilities: capabilitySets(settings, privileged, asRecord(sc['capabilities'])),
        NoNewPrivileges: privileged ? false : allowEscalation === false,
      },
      Root: { Path: tmpl.Root.Path, Readonly: sc['readOnlyRootFilesystem'] === true },
      Mounts: mounts,
      Annotations: sortKeys(annotations),
      Linux: linux,
    },
    storages,
    devices: [...devices, ...gpus.devices],
    sandbox_pidns: spec['shareProcessNamespace'] === true,
    runtime_anno_patterns: { ...TERMINATION_MESSAGE_ANNOTATIONS, ...gpus.annotations },
    exec_commands: exec,
    ...(ctx.flavour === 'guest-pull' ? { image_guest_pull: imagePin(imageRef, image) } : {}),
  };
}

/** Exact `name=value` entries in first-seen order, duplicates dropped. */
class EnvList {
  private readonly seen = new Set<string>();
  private readonly list: string[] = [];
  push(e: string): void {
    if (this.seen.has(e)) return;
    this.seen.add(e);
    this.list.push(e);
  }
  values(): string[] {
    return [...this.list];
  }
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function envFromVars(ctx: BuildContext, c: Json, where: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const src of arrayOf(c['envFrom'])) {
    const prefix = typeof src['prefix'] === 'string' ? src['prefix'] : '';
    const cm = src['configMapRef'];
    const sec = src['secretRef'];
    const ref: Json | undefined = isRecord(cm) ? cm : isRecord(sec) ? sec : undefined;
    const kind = isRecord(cm) ? 'ConfigMap' : 'Secret';
    if (!ref) throw new ContrastError(`${where}: envFrom entry needs configMapRef or secretRef`);
    const obj = findConfig(ctx, kind, String(ref['name'] ?? ''), ref['optional'] === true, where);
    if (!obj) continue;
    for (const k of Object.keys(obj.data).sort()) {
      const name = prefix + k;
      if (!ENV_NAME.test(name)) {
        log.warn(
          `${where}: envFrom ${kind} ${obj.name}: key "${name}" is not a valid variable name; Kubernetes skips it`,
        );
        continue;
      }
      out.push([name, obj.data[k]!]);
    }
  }
  return out;
}

function findConfig(
  ctx: BuildContext,
  kind: 'ConfigMap' | 'Secret',
  name: string,
  optional: boolean,
  where: string,
) {
  const ns = ctx.workload.namespace;
  const obj = ctx.config.get(kind, ns, name);
  if (obj || optional) return obj;
  const other = ctx.config.elsewhere(kind, name);
  const hint =
    other.length > 0
      ? `a ${kind} "${name}" exists in namespace(s) ${other.map((o) => `"${o.namespace}"`).join(', ')} (${other[0]!.source}), but the pod runs in "${ns}"`
      : `add the ${kind} to the input files or pass it with --config-file`;
  throw new ContrastError(`${where}: ${kind} "${name}" not found in namespace "${ns}"`, {
    code: 'POLICY_CONFIG_MISSING',
    hint,
  });
}

function envValueFrom(
  ctx: BuildContext,
  podMeta: Json,
  spec: Json,
  vf: Json,
  name: string,
  where: string,
): string | undefined {
  const w = ctx.workload;
  for (const [key, kind] of [
    ['configMapKeyRef', 'ConfigMap'],
    ['secretKeyRef', 'Secret'],
  ] as const) {
    const ref: unknown = vf[key];
    if (!isRecord(ref)) continue;
    const optional = ref['optional'] === true;
    const obj = findConfig(ctx, kind, String(ref['name'] ?? ''), optional, `${where}: env ${name}`);
    if (!obj) return undefined;
    const k = String(ref['key'] ?? '');
    const v = obj.data[k];
    if (v === undefined) {
      if (optional) return undefined;
      throw new ContrastError(
        `${where}: env ${name}: key "${k}" not found in ${kind} ${obj.namespace}/${obj.name} (${obj.source})`,
        {
          code: 'POLICY_CONFIG_KEY_MISSING',
        },
      );
    }
    return v;
  }
  const fieldRef: unknown = vf['fieldRef'];
  if (isRecord(fieldRef)) {
    const path = String(fieldRef['fieldPath'] ?? '');
    switch (path) {
      case 'metadata.name':
        return '$(sandbox-name)';
      case 'metadata.namespace':
        return w.namespace;
      case 'metadata.uid':
        return '$(pod-uid)';
      case 'status.hostIP':
      case 'status.hostIPs':
        return '$(host-ip)';
      case 'status.podIP':
      case 'status.podIPs':
        return '$(pod-ip)';
      case 'spec.nodeName':
        return '$(node-name)';
      case 'spec.serviceAccountName':
        return typeof spec['serviceAccountName'] === 'string' ? spec['serviceAccountName'] : 'default';
    }
    const m = /^metadata\.(annotations|labels)\['([^']*)'\]$/.exec(path);
    if (m) {
      const v = asRecord(podMeta[m[1]!])[m[2]!];
      if (typeof v === 'string') return v;
      return m[1] === 'annotations' ? '$(todo-annotation)' : '';
    }
    throw new ContrastError(`${where}: env ${name}: fieldRef "${path}" is not supported`, {
      code: 'POLICY_FIELDREF',
    });
  }
  if (isRecord(vf['resourceFieldRef'])) return '$(resource-field)';
  throw new ContrastError(`${where}: env ${name}: unsupported valueFrom ${JSON.stringify(Object.keys(vf))}`);
}

function resolveUser(image: AnalyzedImage, podSc: Json, sc: Json, where: string) {
  let uid = image.user.uid;
  let gid = image.user.gid;
  let extra = [...image.user.additionalGids];
  const runAsUser = sc['runAsUser'] ?? podSc['runAsUser'];
  const runAsGroup = sc['runAsGroup'] ?? podSc['runAsGroup'];
  if (runAsUser !== undefined) {
    if (!Number.isInteger(runAsUser))
      throw new ContrastError(`${where}: securityContext.runAsUser must be an integer`);
    uid = runAsUser as number;
    // As containerd: the primary group and group memberships come from the image's files for that uid.
    const entry = passwdEntries(image.passwd).find((e) => e.uid === uid);
    gid = entry?.gid ?? 0;
    extra = entry ? groupsOf(image.group, entry.name) : [];
  } else {
    // containerd honours the group part of an image USER "user:group"; genpolicy ignores it.
    const spec = image.config.config?.User ?? '';
    const parts = spec.split(':');
    if (parts.length === 2 && parts[1] !== '') {
      const g = /^[0-9]+$/.test(parts[1]!)
        ? Number(parts[1])
        : groupEntries(image.group).find((e) => e.name === parts[1])?.gid;
      if (g === undefined) {
        throw new ContrastError(
          `${where}: image USER "${spec}": group "${parts[1]}" is not in the image's /etc/group`,
          {
            hint: 'the container runtime would fail to start this container',
          },
        );
      }
      gid = g;
    }
  }
  if (runAsGroup !== undefined) {
    if (!Number.isInteger(runAsGroup))
      throw new ContrastError(`${where}: securityContext.runAsGroup must be an integer`);
    gid = runAsGroup as number;
  }
  const supplemental = arrayOf<unknown>(podSc['supplementalGroups']).map(Number);
  const fsGroup = podSc['fsGroup'];
  const all = [gid, ...extra, ...supplemental, ...(fsGroup === undefined ? [] : [Number(fsGroup)])];
  return { UID: uid, GID: gid, AdditionalGids: sortedSet(all), Username: '' };
}

function passwdEntries(passwd: string): Array<{ name: string; uid: number; gid: number }> {
  const parsed = passwd === '' ? [] : parsePasswd(passwd);
  return typeof parsed === 'string' ? [] : parsed;
}

function groupEntries(group: string): Array<{ name: string; gid: number; members: string[] }> {
  const parsed = group === '' ? [] : parseGroup(group);
  return typeof parsed === 'string' ? [] : parsed;
}

function groupsOf(group: string, user: string): number[] {
  return groupEntries(group)
    .filter((g) => g.name !== user && g.members.includes(user))
    .map((g) => g.gid);
}

function capabilitySets(
  settings: PolicySettings,
  privileged: boolean,
  caps: Json | undefined,
): ContainerPolicy['OCI']['Process']['Capabilities'] {
  const norm = (c: unknown) => {
    const u = String(c).toUpperCase();
    return u.startsWith('CAP_') ? u : `CAP_${u}`;
  };
  let set: string[] = privileged ? [...settings.common.privileged_caps] : [...settings.common.default_caps];
  if (caps && !privileged) {
    const add = arrayOf<unknown>(caps['add']).map((c) => String(c).toUpperCase());
    const drop = arrayOf<unknown>(caps['drop']).map((c) => String(c).toUpperCase());
    if (add.includes('ALL')) set = [...settings.common.privileged_caps];
    if (drop.includes('ALL')) set = [];
    for (const c of add) if (c !== 'ALL' && !set.includes(norm(c))) set.push(norm(c));
    for (const c of drop) if (c !== 'ALL') set = set.filter((x) => x !== norm(c));
  }
  const collapse = (s: string[]): string[] => {
    if (sameSet(s, settings.common.default_caps)) return ['$(default_caps)'];
    if (sameSet(s, settings.common.privileged_caps)) return ['$(privileged_caps)'];
    return s;
  };
  const c = collapse(set);
  return { Ambient: [], Bounding: [...c], Effective: [...c], Inheritable: [], Permitted: [...c] };
}

/** containerd's default mounts for a Linux container. */
function defaultMounts(privileged: boolean, pause: boolean): PolicyMount[] {
  const rw = privileged ? 'rw' : 'ro';
  const m: PolicyMount[] = [
    { destination: '/proc', source: 'proc', type_: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      source: 'tmpfs',
      type_: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      source: 'devpts',
      type_: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/mqueue',
      source: 'mqueue',
      type_: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    { destination: '/sys', source: 'sysfs', type_: 'sysfs', options: ['nosuid', 'noexec', 'nodev', rw] },
  ];
  if (!pause)
    m.push({
      destination: '/sys/fs/cgroup',
      source: 'cgroup',
      type_: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', rw],
    });
  return m;
}

function volumeMount(
  ctx: BuildContext,
  vm: Json,
  volumes: ReadonlyMap<string, PodVolume>,
  where: string,
): { mount: PolicyMount; storage?: StorageSpec } {
  const { settings } = ctx;
  const volName = String(vm['name'] ?? '');
  const dest = vm['mountPath'];
  if (typeof dest !== 'string' || dest === '')
    throw new ContrastError(`${where}: volumeMount "${volName}" has no mountPath`);
  if (vm['subPath'] !== undefined || vm['subPathExpr'] !== undefined) {
    throw new ContrastError(
      `${where}: volumeMount "${volName}" at ${dest} uses subPath, which Kata confidential containers do not support`,
      {
        code: 'POLICY_SUBPATH',
        hint: 'mount the whole volume and point the application at the file inside it',
      },
    );
  }
  const entry = volumes.get(volName);
  if (!entry)
    throw new ContrastError(`${where}: volumeMount refers to unknown volume "${volName}"`, {
      code: 'POLICY_VOLUME_UNKNOWN',
      hint: volumeNamesHint(ctx.workload, volumes),
    });
  if (entry.claimVolumeMode === 'Block') {
    throw new ContrastError(
      `${where}: volumeMount "${volName}" at ${dest}: ${describeClaim(entry)} has volumeMode: Block, which can only be attached with volumeDevices`,
      {
        code: 'POLICY_VOLUME_MODE',
        hint: `use volumeDevices: [{name: ${volName}, devicePath: /dev/...}], or volumeMode: Filesystem for a mounted file system`,
      },
    );
  }
  const vol = entry.spec;
  const ro = vm['readOnly'] === true;
  const rwOpt = ro ? 'ro' : 'rw';
  const base = escapeRegex(posix.basename(dest));
  const shared = (opts: string[]): PolicyMount => ({
    destination: dest,
    source: `$(sfprefix)${base}$`,
    type_: 'bind',
    options: opts,
  });
  const escVol = escapeRegex(volName);

  if (isRecord(vol['emptyDir']) || vol['emptyDir'] === null) {
    const medium = asRecord(vol['emptyDir'])['medium'];
    const block = medium === 'Memory' ? undefined : blockEmptyDirTemplate(settings);
    if (block) {
      // Block emptyDirs (cluster_config.emptydir_type block-encrypted / block-plain): the runtime
      // hot-plugs a disk per mount and the agent mounts it at $(spath)/<base64url of its PCI/SCSI
      // address> (genpolicy testdata createcontainer/volumes/emptydir); the container bind-mounts
      // that directory.
      // The runtime sets the disk's fs_group from the pod's fsGroup (kata_agent.go
      // handleDeviceBlockVolume; genpolicy get_guest_empty_dir_mount_and_storage).
      const fsGroup = asRecord(podSpecOf(ctx)['securityContext'])['fsGroup'];
      const spath = typeof settings.common['spath'] === 'string' ? settings.common['spath'] : '';
      return {
        mount: {
          destination: dest,
          // spelled out (not $(spath)): genpolicy's rules substitute only $(sfprefix)/$(cpath)/ids
          source: `^${escapeRegex(spath)}/[A-Za-z0-9_=-]+$`,
          type_: 'bind',
          options: ['rbind', 'rprivate', rwOpt],
        },
        storage: {
          driver: '',
          driver_options: [...(block.driver_options ?? [])],
          source: '',
          fstype: block.fstype,
          options: [...block.options],
          mount_point: '$(spath)/$(b64_device_id)',
          fs_group:
            typeof fsGroup === 'number' && fsGroup > 0 ? { group_id: fsGroup, group_change_policy: 0 } : null,
          shared: block.shared ?? true,
        },
      };
    }
    if (medium !== 'Memory' && sharedFsEmptyDir(settings)) {
      // emptydir_mode = "shared-fs" (Contrast's runtime, shared_fs = "none"): the host directory is
      // copied in like any shared file, under <cid>-<16 hex>-<basename of the mount path>
      // (runtime fs_share_linux.go), or as the sandbox-wide copy sandbox-<16 hex>-<volume name>;
      // genpolicy mount_and_storage.rs get_host_empty_dir_mount accepts the same two.
      return {
        mount: {
          destination: dest,
          source: `^$(cpath)/sandbox-[0-9a-f]{16}-${escVol}$|$(sfprefix)${base}$`,
          type_: 'bind',
          options: ['rbind', 'rprivate', rwOpt],
        },
      };
    }
    const t = medium === 'Memory' ? settings.volumes.emptyDir_memory : settings.volumes.emptyDir;
    return {
      mount: {
        destination: dest,
        source: `${t.mount_source}${escVol}$`,
        type_: t.mount_type,
        options: ['rbind', 'rprivate', rwOpt],
      },
      storage: {
        driver: t.driver,
        driver_options: [],
        source: t.source ?? '',
        fstype: t.fstype,
        options: [...t.options],
        mount_point: `${t.mount_point}${escVol}$`,
        fs_group: null,
        shared: t.shared ?? false,
      },
    };
  }
  if (isRecord(vol['persistentVolumeClaim']) || isRecord(vol['azureFile']) || isRecord(vol['ephemeral'])) {
    return { mount: shared(['rbind', 'rprivate', rwOpt]) };
  }
  const hostPath: unknown = vol['hostPath'];
  if (isRecord(hostPath)) {
    const p = String(hostPath['path'] ?? '');
    const prop =
      vm['mountPropagation'] === 'Bidirectional'
        ? 'rshared'
        : vm['mountPropagation'] === 'HostToContainer'
          ? 'rslave'
          : 'rprivate';
    const opts = ['rbind', prop, rwOpt];
    if (p.startsWith('/dev/') || p.startsWith('/sys/'))
      return { mount: { destination: dest, source: `^${escapeRegex(p)}$`, type_: 'bind', options: opts } };
    return { mount: shared(opts) };
  }
  if (isRecord(vol['configMap']) || isRecord(vol['secret'])) {
    if (!settings.kata_config.enable_configmap_secret_storages)
      return { mount: shared(['rbind', 'rprivate', 'ro']) };
    const t = settings.volumes.configMap;
    return {
      mount: {
        destination: dest,
        source: `${t.mount_point}${base}$`,
        type_: t.mount_type,
        options: ['rbind', 'rprivate', 'ro'],
      },
      storage: {
        driver: t.driver,
        driver_options: [],
        source: `${t.mount_source}${base}$`,
        fstype: t.fstype,
        options: [...t.options],
        mount_point: `${t.mount_point}${base}$`,
        fs_group: null,
        shared: t.shared ?? false,
      },
    };
  }
  if (isRecord(vol['projected']) || isRecord(vol['downwardAPI']))
    return { mount: shared(['rbind', 'rprivate', 'ro']) };
  const type = Object.keys(vol).filter((k) => k !== 'name')[0] ?? '(none)';
  throw new ContrastError(
    `${where}: volume "${volName}" of type ${type} is not supported in confidential pods`,
    { code: 'POLICY_VOLUME_TYPE' },
  );
}

/**
 * A volume a container may name: one of `spec.volumes`, or for a StatefulSet a `volumeClaimTemplates`
 * entry (the controller adds those to each pod as persistentVolumeClaim volumes, replacing a template
 * volume of the same name).
 */
interface PodVolume {
  /** The volume as Kubernetes gives it to the pod (a claim template becomes a persistentVolumeClaim). */
  spec: Json;
  from: 'volumes' | 'volumeClaimTemplates';
  /**
   * volumeMode of a claim whose template is in the YAML (a claim template, an ephemeral volume):
   * kubelet refuses a Block claim in volumeMounts and a Filesystem one in volumeDevices. Undefined
   * for a persistentVolumeClaim created elsewhere.
   */
  claimVolumeMode?: 'Block' | 'Filesystem';
}

function podVolumes(w: Workload, spec: Json, where: string): Map<string, PodVolume> {
  const out = new Map<string, PodVolume>();
  for (const v of arrayOf(spec['volumes'])) {
    if (typeof v['name'] !== 'string') continue;
    const ephemeral = v['ephemeral'];
    out.set(v['name'], {
      spec: v,
      from: 'volumes',
      ...(isRecord(ephemeral)
        ? { claimVolumeMode: volumeModeOf(asRecord(ephemeral['volumeClaimTemplate'])['spec']) }
        : {}),
    });
  }
  if (w.kind !== 'StatefulSet') return out;
  const resource = w.resourcePath.reduce<unknown>(
    (cur, p) => (isRecord(cur) || Array.isArray(cur) ? (cur as Json)[p as string] : undefined),
    documentToJS(w.doc, w.file.path),
  );
  arrayOf(asRecord(asRecord(resource)['spec'])['volumeClaimTemplates']).forEach((t, i) => {
    const name = asRecord(t['metadata'])['name'];
    if (typeof name !== 'string' || name === '')
      throw new ContrastError(`${where}: spec.volumeClaimTemplates[${i}] has no metadata.name`, {
        code: 'POLICY_CLAIM_TEMPLATE',
      });
    out.set(name, {
      // The claim of pod <sts>-<ordinal> is <template>-<sts>-<ordinal>.
      spec: { name, persistentVolumeClaim: { claimName: `${name}-${w.name}-<ordinal>` } },
      from: 'volumeClaimTemplates',
      claimVolumeMode: volumeModeOf(t['spec']),
    });
  });
  return out;
}

function volumeModeOf(claimSpec: unknown): 'Block' | 'Filesystem' {
  return asRecord(claimSpec)['volumeMode'] === 'Block' ? 'Block' : 'Filesystem';
}

function describeClaim(v: PodVolume): string {
  const name = String(v.spec['name']);
  return v.from === 'volumeClaimTemplates'
    ? `volumeClaimTemplates entry "${name}"`
    : `ephemeral volume "${name}"`;
}

function volumeNamesHint(w: Workload, volumes: ReadonlyMap<string, PodVolume>): string {
  const names = [...volumes.keys()].map((n) => `"${n}"`).join(', ') || 'none';
  const where = w.kind === 'StatefulSet' ? 'spec.volumes or spec.volumeClaimTemplates' : 'spec.volumes';
  return `the name must match a volume in ${where} (known: ${names})`;
}

/** The container path of a `volumeDevices` entry, checked as kubelet will: a block-mode claim only. */
function volumeDevicePath(
  w: Workload,
  d: Json,
  volumes: ReadonlyMap<string, PodVolume>,
  where: string,
): string {
  const p = d['devicePath'];
  const name = String(d['name'] ?? '');
  if (typeof p !== 'string' || p === '')
    throw new ContrastError(`${where}: volumeDevices entry "${name}" without devicePath`);
  const entry = volumes.get(name);
  if (!entry)
    throw new ContrastError(`${where}: volumeDevices refers to unknown volume "${name}"`, {
      code: 'POLICY_VOLUME_UNKNOWN',
      hint: volumeNamesHint(w, volumes),
    });
  const claimBacked = isRecord(entry.spec['persistentVolumeClaim']) || isRecord(entry.spec['ephemeral']);
  if (!claimBacked) {
    const type = Object.keys(entry.spec).filter((k) => k !== 'name')[0] ?? '(none)';
    throw new ContrastError(
      `${where}: volumeDevices "${name}" at ${p}: volume "${name}" is of type ${type}; only a persistentVolumeClaim, an ephemeral volume or a StatefulSet volumeClaimTemplates entry can be a block device`,
      { code: 'POLICY_DEVICE_VOLUME_TYPE' },
    );
  }
  if (entry.claimVolumeMode === 'Filesystem') {
    throw new ContrastError(
      `${where}: volumeDevices "${name}" at ${p}: ${describeClaim(entry)} has volumeMode Filesystem (the default), which can only be mounted with volumeMounts`,
      { code: 'POLICY_VOLUME_MODE', hint: 'set volumeMode: Block in the claim spec for a raw block device' },
    );
  }
  return p;
}

// genpolicy's default for settings without volumes.image_volume (genpolicy-settings.json).
const DEFAULT_IMAGE_VOLUME = {
  mount_source: '$(sfprefix)',
  fstype: 'bind',
  options: ['rbind', 'rprivate', 'rw'],
};

/**
 * An image VOLUME no volumeMount covers: containerd creates a host directory for it (filled from the
 * image) and the runtime, sharing no file system, copies it in and bind-mounts it from the shared
 * directory (genpolicy mount_and_storage.rs get_image_mount_and_storage; testdata
 * createcontainer/volumes/container_image).
 */
function imageVolumeMounts(
  settings: PolicySettings,
  volumes: Record<string, object> | null | undefined,
  yamlMounts: Json[],
): PolicyMount[] {
  if (!volumes) return [];
  const tmpl = (settings.volumes as Record<string, Partial<VolumeTemplate> | undefined>)['image_volume'];
  const source = tmpl?.mount_source ?? DEFAULT_IMAGE_VOLUME.mount_source;
  const type = tmpl?.fstype ?? DEFAULT_IMAGE_VOLUME.fstype;
  const options = tmpl?.options ?? DEFAULT_IMAGE_VOLUME.options;
  const norm = (p: string) => posix.normalize(p.replace(/\/+/g, '/')).replace(/(.)\/$/, '$1');
  const mounted = new Set(yamlMounts.map((m) => norm(String(m['mountPath'] ?? ''))));
  const out: PolicyMount[] = [];
  for (const v of Object.keys(volumes).map(norm).sort()) {
    if (mounted.has(v)) continue;
    out.push({
      destination: v,
      source: `${source}${escapeRegex(posix.basename(v))}$`,
      type_: type,
      options: [...options],
    });
  }
  return out;
}

/**
 * The namespace the policy pins: the YAML's, or "" (any; the agent state keeps the pod's containers
 * in one) when the YAML names none and so runs wherever it is applied (genpolicy does the same).
 */
function policyNamespace(w: Workload): string {
  const ns = w.doc.getIn([...w.resourcePath, 'metadata', 'namespace']);
  return typeof ns === 'string' && ns !== '' ? ns : '';
}

// kubelet passes these when containerd's container_annotations allow io.kubernetes.container.*
// (genpolicy policy.rs adds the same patterns): optional, values constrained.
const TERMINATION_MESSAGE_ANNOTATIONS: Record<string, string> = {
  '^io\\.kubernetes\\.container\\.terminationMessagePath$': '^/.*$',
  '^io\\.kubernetes\\.container\\.terminationMessagePolicy$': '^(File|FallbackToLogsOnError)$',
};

/**
 * GPUs (the settings' devices.vfio.nvidia.pgpu_resource_keys, e.g. nvidia.com/pgpu): the runtime
 * passes one VFIO device per GPU (container path <device_path><n>, hot-plug) or none (cold-plug),
 * and the NVIDIA device plugin adds one CDI annotation cdi.k8s.io/vfio<n> = nvidia.com/gpu=<k> per
 * GPU (genpolicy testdata createcontainer/gpu_vfio_cdi). The policy lists one device per GPU with
 * the device path prefix and allows the CDI annotations by pattern; the rules correlate them.
 * Other GPU resource names are refused: a policy without their devices would refuse the pod.
 */
function gpuCount(
  settings: PolicySettings,
  c: Json,
  where: string,
): { devices: ContainerPolicy['devices']; annotations: Record<string, string> } {
  const vfio = asRecord(asRecord(settings.devices)['vfio']);
  const nvidia = asRecord(vfio['nvidia']);
  // nvidia.com/gpu: the NVIDIA device plugin's resource, passed through the same way (CDI value
  // nvidia.com/gpu=<k>); plus the settings' pass-through keys.
  const pgpuKeys = [
    'nvidia.com/gpu',
    ...(Array.isArray(nvidia['pgpu_resource_keys']) ? nvidia['pgpu_resource_keys'].map(String) : []),
  ];
  const limits = asRecord(asRecord(c['resources'])['limits']);
  const requests = asRecord(asRecord(c['resources'])['requests']);
  let count = 0;
  for (const k of pgpuKeys) {
    const v = limits[k] ?? requests[k];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new ContrastError(`${where}: resources ${k}: ${JSON.stringify(v)} is not a GPU count`);
    count += n;
  }
  for (const k of Object.keys({ ...limits, ...requests })) {
    if (pgpuKeys.includes(k)) continue;
    if (k.startsWith('nvidia.com/')) {
      throw new ContrastError(
        `${where}: requests ${k}: GPU pods (VFIO devices and CDI annotations) are supported only for ${pgpuKeys.join(', ')} (settings devices.vfio.nvidia.pgpu_resource_keys)`,
        {
          code: 'POLICY_GPU',
          hint: `request the GPUs as nvidia.com/gpu, or add ${k} to devices.vfio.nvidia.pgpu_resource_keys with a settings drop-in`,
        },
      );
    }
  }
  if (count === 0) return { devices: [], annotations: {} };
  const devicePath = vfio['device_path'];
  const type = nvidia['gpu_gk_device_type'];
  const keyRegex = vfio['anno_key_regex'];
  const valueRegex = nvidia['gpu_anno_value_regex'];
  if (![devicePath, type, keyRegex, valueRegex].every((x) => typeof x === 'string'))
    throw new ContrastError(
      `${where}: GPUs requested but the settings lack devices.vfio (device_path, anno_key_regex, nvidia.*)`,
    );
  return {
    devices: Array.from({ length: count }, () => ({
      container_path: devicePath as string,
      type_: type as string,
      vm_path: '',
    })),
    annotations: { [keyRegex as string]: valueRegex as string },
  };
}

function sharedFsEmptyDir(settings: PolicySettings): boolean {
  return (settings.cluster_config as Record<string, unknown>)['emptydir_type'] === 'shared-fs';
}

function podSpecOf(ctx: BuildContext): Json {
  return podTemplate(ctx.workload).spec;
}

/** The settings' block emptyDir template when cluster_config.emptydir_type asks for one. */
function blockEmptyDirTemplate(
  settings: PolicySettings,
): (VolumeTemplate & { driver_options?: string[] }) | undefined {
  const type = (settings.cluster_config as Record<string, unknown>)['emptydir_type'];
  const vols = settings.volumes as Record<
    string,
    (VolumeTemplate & { driver_options?: string[] }) | undefined
  >;
  if (type === 'block-encrypted') return vols['emptyDir_encrypted'];
  if (type === 'block-plain') return vols['emptyDir_plain'];
  return undefined;
}

function podHasPrivileged(spec: Json): boolean {
  return [...arrayOf(spec['initContainers']), ...arrayOf(spec['containers'])].some(
    (c) => asRecord(c['securityContext'])['privileged'] === true,
  );
}

function podSysctls(spec: Json): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of arrayOf(asRecord(spec['securityContext'])['sysctls']))
    out[String(s['name'])] = String(s['value'] ?? '');
  return out;
}

/** A settings mount's source; genpolicy's settings leave it out for files the runtime copies in. */
function templateMountSource(source: string | undefined, destination: string): string {
  if (source !== undefined) return source;
  return `$(sfprefix)${escapeRegex(posix.basename(destination))}$`;
}

/** The guest-pull pin of a container's image: what its storage source and image-name may say. */
export interface ImagePin {
  /** The reference as pinned in the YAML (`name[:tag]@sha256:…`). */
  reference: string;
  /** Normalized repository (`docker.io/library/busybox`), as containerd reports it. */
  repository: string;
  digest: string;
}

export function imagePin(imageRef: string, image: AnalyzedImage): ImagePin {
  const reference = pinnedReference(imageRef, image);
  const ref = parseReference(reference);
  return { reference, repository: repositoryName(ref), digest: ref.digest ?? image.digest };
}

/** Layer storages (host-pull) or the guest-pull storage for a container's image. */
function imageStorages(
  ctx: BuildContext,
  imageRef: string,
  image: AnalyzedImage,
  where: string,
): StorageSpec[] {
  // Guest pull: the image is pinned by the container's image_guest_pull field, not a storage
  // (genpolicy's rules count storages without the request's image_guest_pull one).
  if (ctx.flavour === 'guest-pull') return [];
  const layers = image.layerAnalysis;
  const diffIds = layers.map((l) => l.diffId);
  const names = layerNames(diffIds);
  const out: StorageSpec[] = [];
  const topFirst = layers.map((l, i) => ({ l, name: names[i]! })).reverse();
  topFirst.forEach(({ l }, i) => {
    if (!l.verityRoot) {
      throw new ContrastError(`${where}: image "${imageRef}" layer ${l.diffId} has no dm-verity root`, {
        hint: 'the host-pull flavour needs layers analyzed with dm-verity (tarfs index); use --flavour guest-pull for guest-pulled images',
      });
    }
    out.push({
      driver: 'blk',
      driver_options: [],
      source: '',
      fstype: 'tar',
      options: [`$(hash${i})`],
      mount_point: `$(layer${i})`,
      fs_group: null,
    });
  });
  out.push({
    driver: 'overlayfs',
    driver_options: [],
    source: '',
    fstype: 'fuse3.kata-overlay',
    options: [topFirst.map((x) => x.name).join(':'), topFirst.map((x) => x.l.verityRoot!).join(':')],
    mount_point: '$(cpath)/$(bundle-id)',
    fs_group: null,
  });
  return out;
}

/** Layer names as the tardev snapshotter derives them: sha256 of each layer's chain ID. */
export function layerNames(diffIds: string[]): string[] {
  const out: string[] = [];
  let chain = '';
  diffIds.forEach((d, i) => {
    chain = i === 0 ? d : `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
    out.push(createHash('sha256').update(chain).digest('hex'));
  });
  return out;
}

/** The YAML reference pinned to content: kept as written when it has a digest, else `@<manifest digest>` appended. */
export function pinnedReference(imageRef: string, image: AnalyzedImage): string {
  if (imageRef.includes('@')) return imageRef;
  return `${imageRef}@${image.digest}`;
}

function arrayOf<T = Json>(v: unknown): T[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && x !== undefined) as T[]) : [];
}

function stringArray(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ContrastError(`${what} must be a list of strings`);
  return v.map((x) => (typeof x === 'string' ? x : String(x)));
}

function sortedSet(ns: number[]): number[] {
  return [...new Set(ns.filter((n) => Number.isInteger(n)))].sort((a, b) => a - b);
}

function sameSet(a: string[], b: string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}
