// The agent requests of the lab pod (one app container `app` running the lab's test/app:v1 with an
// emptyDir at /data, the default service account), written BY HAND in this repository: each request
// kind cites where its shape comes from, values are what the runtime sends for such a pod, never
// derived from a generated policy and never copied from a recorded log. Every message goes through
// `agentInput` (src/policyeval/proto.ts), so fields the runtime leaves out carry their protobuf
// default exactly as the agent's rules see them.
//
// lab-shape.test.ts compares the host-pull sequence with the recorded AKS log pod-cm1 (where
// ../shared exists): same request types in the same order, same keys and value types, so these
// requests cannot drift from what a real runtime sends.
import { agentInput } from '../../../src/policyeval/index.js';
import type { Flavour } from '../../../src/policy/index.js';
import { LAB_APP, RECORDED_PAUSE } from './fixtures.js';
import type { AgentRequest } from './harness.js';

export type Req = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const SANDBOX = '5a'.repeat(32);
export const APP_ID = 'c0'.repeat(32);
export const NS = 'shop';
export const POD_UID = '0b4e1d3c-5a8c-4c55-9d67-8d2f0d3c9a11';
export const CPATH = '/run/kata-containers/shared/containers';
export const PINNED = `localhost:5000/test/app:v1@${LAB_APP.digest}`;
/** What containerd puts in image-name and the runtime in the storage source for PINNED. */
export const RESOLVED = `localhost:5000/test/app@${LAB_APP.digest}`;

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `agentInput` typed for our tables: the request with every protobuf field present. */
function msg(type: string, partial: Req): Req {
  return agentInput(type, partial) as Req;
}

// --- network (sent before the sandbox): kata-containers src/runtime/virtcontainers/network_linux.go
// (one UpdateInterface per endpoint, then UpdateRoutes), types.proto Interface/Route; values as in
// genpolicy testdata updateinterface/updateroutes (a CNI veth with an IPv4 and a link-local IPv6).
export function updateInterface(): Req {
  return msg('UpdateInterfaceRequest', {
    interface: {
      device: 'eth0',
      name: 'eth0',
      IPAddresses: [
        { family: 0, address: '10.244.0.14', mask: '24' },
        { family: 1, address: 'fe80::6474:9fff:fe6a:9601', mask: '64' },
      ],
      mtu: 1500,
      hwAddr: '66:74:9f:6a:96:01',
      raw_flags: 0,
    },
  });
}

export function updateRoutes(): Req {
  return msg('UpdateRoutesRequest', {
    routes: {
      Routes: [{ dest: '', gateway: '10.244.0.1', device: 'eth0', source: '', scope: 0, family: 0 }],
    },
  });
}

// --- CreateSandbox: kata_agent.go startSandbox (hostname, the pod's resolv.conf lines as dns, the
// sandbox /dev/shm as an ephemeral tmpfs storage, the sandbox id); genpolicy testdata createsandbox.
export function createSandbox(pod: string): Req {
  return msg('CreateSandboxRequest', {
    hostname: pod,
    dns: [
      `search ${NS}.svc.cluster.local svc.cluster.local cluster.local`,
      'nameserver 10.0.0.10',
      'options ndots:5',
      '',
    ],
    storages: [
      {
        driver: 'ephemeral',
        source: 'shm',
        fstype: 'tmpfs',
        options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=67108864'],
        mount_point: '/run/kata-containers/sandbox/shm',
      },
    ],
    sandbox_id: SANDBOX,
  });
}

/** kata_agent.go getGuestDetails: asked once after the sandbox is up. Not a protobuf we model. */
const guestDetails = (): Req => ({ mem_block_size: true, mem_hotplug_probe: true });

// --- CopyFile: the runtime copies each file the container mounts from the host (shared_fs "none"
// or files that are not shared: fs_share_linux.go, kata_agent.go copyFile): <cid>-<16 hex>-<name>.
// Kata >= 3.29 agents judge the pre-processed PolicyCopyFileRequest (src/agent/policy/src/policy.rs:
// file_type from the mode bits, symlink_target); older agents (the recorded AKS host-pull ones) the
// raw agent.proto CopyFileRequest without its `data`, symlink source in `symlink_src`.
interface CopiedFile {
  path: string;
  size: number;
  mode: number;
  uid?: number;
  target?: string;
}
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** dir_mode the runtime sends for parent directories: os.ModeDir | 0750 (Go FileMode bits). */
const DIR_MODE = 0x80000000 | 0o750;

function copyFile(f: CopiedFile, preprocessed: boolean): Req {
  const common = {
    path: f.path,
    file_size: f.size,
    file_mode: f.mode,
    dir_mode: DIR_MODE,
    uid: f.uid ?? 0,
    gid: 0,
    offset: 0,
  };
  if (!preprocessed) return { ...common, symlink_src: f.target ?? '' };
  const type =
    (f.mode & 0o170000) === S_IFREG ? 'Regular' : (f.mode & 0o170000) === S_IFDIR ? 'Directory' : 'Symlink';
  return msg('CopyFileRequest', { ...common, file_type: type, symlink_target: f.target ?? null });
}

/** Host path names of the files kubelet prepares for a container, as the runtime names them. */
export const shared = (cid: string, hex: string, name: string) => `${CPATH}/${cid}-${hex}-${name}`;
const SA_DIR = '..2026_01_02_03_04_05.123456789';

/** The files the runtime copies for the app container (kubelet's /etc files, termination log, SA token). */
function appFiles(): CopiedFile[] {
  const sa = shared(APP_ID, 'f6e224b8e9e0262c', 'serviceaccount');
  return [
    { path: shared(APP_ID, 'd7237018b1bd6306', 'hosts'), size: 199, mode: S_IFREG | 0o644 },
    { path: shared(APP_ID, '7ff34bb27061c9d6', 'termination-log'), size: 0, mode: S_IFREG | 0o666 },
    { path: shared(APP_ID, 'aefaf093e301d5c1', 'hostname'), size: 20, mode: S_IFREG | 0o644 },
    { path: shared(APP_ID, 'c8a426b90b41420f', 'resolv.conf'), size: 102, mode: S_IFREG | 0o644 },
    // the projected service account volume: kubelet's AtomicWriter layout (a timestamped directory,
    // ..data pointing at it, one symlink per key); the top directory is sticky and world-writable.
    { path: sa, size: 0, mode: S_IFDIR | 0o1777 },
    { path: `${sa}/${SA_DIR}`, size: 0, mode: S_IFDIR | 0o755 },
    { path: `${sa}/${SA_DIR}/ca.crt`, size: 1761, mode: S_IFREG | 0o644 },
    { path: `${sa}/${SA_DIR}/namespace`, size: NS.length, mode: S_IFREG | 0o644 },
    { path: `${sa}/${SA_DIR}/token`, size: 1487, mode: S_IFREG | 0o600, uid: 1000 },
    { path: `${sa}/..data`, size: 0, mode: S_IFLNK | 0o777, target: SA_DIR },
    { path: `${sa}/ca.crt`, size: 0, mode: S_IFLNK | 0o777, target: '..data/ca.crt' },
    { path: `${sa}/namespace`, size: 0, mode: S_IFLNK | 0o777, target: '..data/namespace' },
    { path: `${sa}/token`, size: 0, mode: S_IFLNK | 0o777, target: '..data/token' },
  ];
}

// --- containers: the OCI spec containerd's CRI plugin builds (containerd pkg/oci/spec_opts.go and
// internal/cri/opts: default mounts, capabilities, masked and read-only paths; the CRI annotations
// of pkg/cri/annotations), as the Kata runtime forwards it (kata_agent.go constrainGRPCSpec).
// genpolicy testdata state/createcontainer shows the same shape for current runtimes.

/** containerd's default capabilities (pkg/oci/spec.go defaultUnixCaps… populateDefaultUnixSpec). */
const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
const caps = () => ({
  Bounding: [...DEFAULT_CAPS],
  Effective: [...DEFAULT_CAPS],
  Inheritable: [],
  Permitted: [...DEFAULT_CAPS],
  Ambient: [],
});
/** containerd 1.7 defaultUnixMaskedPaths / ReadonlyPaths for an unprivileged container. */
const MASKED = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** containerd's default mounts (pkg/oci/mounts.go defaultMounts); /sys read-only unless privileged. */
function defaultMounts(): Req[] {
  return [
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
    { destination: '/dev/mqueue', source: 'mqueue', type_: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', source: 'sysfs', type_: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
}
/** The sandbox's /dev/shm, bind-mounted into every container (kata_agent.go handleShm). */
const SHM = {
  destination: '/dev/shm',
  source: '/run/kata-containers/sandbox/shm',
  type_: 'bind',
  options: ['rbind'],
};

const bundle = (cid: string) => `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${cid}`;
const cgroup = (cid: string) => `/kubepods/besteffort/pod${POD_UID}/${cid}`;
const namespaces = () => [
  { Type: 'ipc', Path: '' },
  { Type: 'uts', Path: '' },
  { Type: 'mount', Path: '' },
];

/** The sandbox's pause container: the sandbox id is its container id (containerd sandbox_run.go). */
export function pauseContainer(flavour: Flavour, pod: string): Req {
  const guest = flavour === 'guest-pull';
  return msg('CreateContainerRequest', {
    container_id: SANDBOX,
    exec_id: SANDBOX,
    // host pull (tardev snapshotter): one tar layer per image layer and the overlay; guest pull:
    // the literal "pause" (kata_agent.go handleImageGuestPullBlockVolume: imageRef = "pause").
    storages: guest
      ? [guestPullStorage('pause', SANDBOX)]
      : tardevStorages(SANDBOX, [
          { name: '9e'.repeat(32), hash: RECORDED_PAUSE.layerAnalysis[0]!.verityRoot! },
        ]),
    OCI: {
      Version: '1.1.0',
      Process: {
        User: { UID: 65535, GID: 65535, AdditionalGids: [65535], Username: '' },
        Args: ['/pause'],
        Env: [PATH_ENV],
        Cwd: '/',
        Capabilities: caps(),
        NoNewPrivileges: true,
        OOMScoreAdj: -998,
      },
      Root: {
        Path: guest ? `/run/kata-containers/${SANDBOX}/rootfs` : `${CPATH}/${SANDBOX}`,
        Readonly: true,
      },
      Hostname: pod,
      Mounts: [
        ...defaultMounts(),
        SHM,
        {
          destination: '/etc/resolv.conf',
          source: shared(SANDBOX, 'fcc2557fcee4b4da', 'resolv.conf'),
          type_: 'bind',
          options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
        },
      ],
      // containerd 1.7 sandbox annotations (pkg/cri/annotations, sandbox_run.go) and Kata's own.
      Annotations: {
        'io.kubernetes.cri.sandbox-namespace': NS,
        'io.kubernetes.cri.sandbox-cpu-shares': '2',
        'io.kubernetes.cri.sandbox-cpu-quota': '0',
        'nerdctl/network-namespace': '/var/run/netns/cni-5b0f6c2e-1a3d-4e7f-8a9b-0c1d2e3f4a5b',
        'io.kubernetes.cri.sandbox-cpu-period': '100000',
        'io.katacontainers.pkg.oci.container_type': 'pod_sandbox',
        'io.kubernetes.cri.sandbox-name': pod,
        'io.kubernetes.cri.sandbox-log-directory': `/var/log/pods/${NS}_${pod}_${POD_UID}`,
        'io.kubernetes.cri.sandbox-uid': POD_UID,
        'io.kubernetes.cri.sandbox-memory': '0',
        'io.kubernetes.cri.container-type': 'sandbox',
        'io.katacontainers.pkg.oci.bundle_path': bundle(SANDBOX),
        'io.kubernetes.cri.sandbox-id': SANDBOX,
      },
      Linux: {
        Resources: { CPU: { Shares: 2 } },
        CgroupsPath: cgroup(SANDBOX),
        Namespaces: namespaces(),
        MaskedPaths: [...MASKED],
        ReadonlyPaths: [...READONLY],
      },
    },
  });
}

/** The app container `app` (lab image test/app:v1, user app 1000:1000, emptyDir at /data). */
export function appContainer(flavour: Flavour, pod: string): Req {
  const guest = flavour === 'guest-pull';
  const m = (dest: string, source: string, ro = false) => ({
    destination: dest,
    source,
    type_: 'bind',
    options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'],
  });
  // emptyDir: host pull (AKS, virtio-fs era) gets a guest-local directory below the sandbox root
  // (kata_agent.go handleLocalStorage: storage driver "local", mode=0777); Contrast's runtime
  // (emptydir_mode = "shared-fs", shared_fs = "none") copies the host directory in and bind-mounts
  // it from the shared directory (fs_share_linux.go).
  const data = guest
    ? m('/data', shared(APP_ID, '5d2c0a8b9e7f6a1b', 'data'))
    : { ...m('/data', `${CPATH}/${SANDBOX}/rootfs/local/data`), type_: 'local' };
  const storages = guest
    ? [guestPullStorage(RESOLVED, APP_ID)]
    : [
        ...tardevStorages(APP_ID, [
          { name: 'ab'.repeat(32), hash: LAB_APP.layerAnalysis[1]!.verityRoot! },
          { name: 'cd'.repeat(32), hash: LAB_APP.layerAnalysis[0]!.verityRoot! },
        ]),
        {
          driver: 'local',
          source: 'local',
          fstype: 'local',
          options: ['mode=0777'],
          mount_point: `${CPATH}/${SANDBOX}/rootfs/local/data`,
        },
      ];
  return msg('CreateContainerRequest', {
    container_id: APP_ID,
    exec_id: APP_ID,
    storages,
    OCI: {
      Version: '1.1.0',
      Process: {
        // the image's user app (1000:1000) and its supplementary group audio (29), plus the
        // primary group containerd appends (internal/cri/opts WithAdditionalGIDs).
        User: { UID: 1000, GID: 1000, AdditionalGids: [29, 1000], Username: '' },
        Args: ['/app/hello.sh', '--from', 'lab'],
        // image Env, then HOSTNAME, then kubelet's service links for the default namespace's
        // kubernetes Service (kubelet_pods.go getServiceEnvVarMap, docker-links form).
        Env: [
          PATH_ENV,
          'GREETING=hello',
          `HOSTNAME=${pod}`,
          'KUBERNETES_PORT=tcp://10.0.0.1:443',
          'KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443',
          'KUBERNETES_PORT_443_TCP_PROTO=tcp',
          'KUBERNETES_PORT_443_TCP_PORT=443',
          'KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1',
          'KUBERNETES_SERVICE_HOST=10.0.0.1',
          'KUBERNETES_SERVICE_PORT=443',
          'KUBERNETES_SERVICE_PORT_HTTPS=443',
        ],
        Cwd: '/app',
        Capabilities: caps(),
        NoNewPrivileges: false,
        OOMScoreAdj: 1000,
      },
      Root: { Path: guest ? `/run/kata-containers/${APP_ID}/rootfs` : `${CPATH}/${APP_ID}`, Readonly: false },
      Hostname: '',
      Mounts: [
        ...defaultMounts(),
        {
          destination: '/sys/fs/cgroup',
          source: 'cgroup',
          type_: 'cgroup',
          options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
        },
        m('/etc/hosts', shared(APP_ID, 'd7237018b1bd6306', 'hosts')),
        m('/dev/termination-log', shared(APP_ID, '7ff34bb27061c9d6', 'termination-log')),
        m('/etc/hostname', shared(APP_ID, 'aefaf093e301d5c1', 'hostname')),
        m('/etc/resolv.conf', shared(APP_ID, 'c8a426b90b41420f', 'resolv.conf')),
        SHM,
        m(
          '/var/run/secrets/kubernetes.io/serviceaccount',
          shared(APP_ID, 'f6e224b8e9e0262c', 'serviceaccount'),
          true,
        ),
        data,
      ],
      Annotations: {
        'io.kubernetes.cri.container-type': 'container',
        'io.katacontainers.pkg.oci.container_type': 'pod_container',
        'io.kubernetes.cri.sandbox-name': pod,
        'io.katacontainers.pkg.oci.bundle_path': bundle(APP_ID),
        'io.kubernetes.cri.container-name': 'app',
        // containerd reports the image as it resolved it: the tag dropped when a digest is present
        // (genpolicy testdata createcontainer/env_vars: YAML repo:latest@sha256:D, request repo@sha256:D).
        'io.kubernetes.cri.image-name': guest ? RESOLVED : 'localhost:5000/test/app:v1',
        'io.kubernetes.cri.sandbox-id': SANDBOX,
        'io.kubernetes.cri.sandbox-uid': POD_UID,
        'io.kubernetes.cri.sandbox-namespace': NS,
      },
      Linux: {
        Resources: {
          Memory: { Limit: 0 },
          CPU: { Shares: 2, Period: 100000 },
        },
        CgroupsPath: cgroup(APP_ID),
        Namespaces: namespaces(),
        MaskedPaths: [...MASKED],
        ReadonlyPaths: [...READONLY],
      },
    },
  });
}

/** The storage the runtime sends under forced guest pull (kata_agent.go, fs_share_linux.go). */
export function guestPullStorage(source: string, containerId: string): Req {
  return {
    driver: 'image_guest_pull',
    driver_options: ['image_guest_pull={"metadata":{}}'],
    source,
    fstype: 'overlay',
    options: [],
    mount_point: `/run/kata-containers/${containerId}/rootfs`,
    fs_group: null,
    shared: false,
  };
}

const layerOpts = (hash: string) => [
  'ro',
  'io.katacontainers.fs-opt.block_device=file',
  'io.katacontainers.fs-opt.is-layer',
  `io.katacontainers.fs-opt.root-hash=${hash}`,
];

/**
 * tardev storages as the host-pull runtime sends them (tardev-snapshotter: one `tar` block device
 * per layer, top layer first, then the fuse3.kata-overlay that stacks them; the layer options are
 * base64 in the overlay's options).
 */
export function tardevStorages(cid: string, layers: Array<{ name: string; hash: string }>): Req[] {
  const out: Req[] = layers.map((l, i) => ({
    driver: 'blk',
    driver_options: [],
    source: `0001:00:0${i + 1}.0`,
    fstype: 'tar',
    options: layerOpts(l.hash),
    mount_point: `/run/kata-containers/sandbox/layers/${l.name}`,
    fs_group: null,
    shared: false,
  }));
  out.push({
    driver: 'overlayfs',
    driver_options: [],
    source: 'none',
    fstype: 'fuse3.kata-overlay',
    options: [
      'io.katacontainers.fs-opt.layer-src-prefix=/var/lib/containerd/io.containerd.snapshotter.v1.tardev/layers',
      ...layers.map(
        (l) =>
          `io.katacontainers.fs-opt.layer=${Buffer.from([l.name, 'tar', ...layerOpts(l.hash)].join(',')).toString('base64')}`,
      ),
      'io.katacontainers.fs-opt.overlay-rw',
      `lowerdir=${layers.map((l) => l.name).join(':')}`,
    ],
    mount_point: `${CPATH}/${cid}`,
    fs_group: null,
    shared: false,
  });
  return out;
}

export const EXEC_ID = '6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e';

/**
 * An exec into the app container (a probe or `kubectl exec`): the container's user, environment and
 * working directory with other Args, no capabilities of its own and OOMScoreAdj 0 (containerd's CRI
 * ExecSync builds the process from the container's spec; the runtime forwards it: kata_agent.go
 * exec; the recorded AKS exec requests have this shape). exec_id is containerd's random exec id.
 */
export function execProcess(flavour: Flavour, pod: string, args: string[], execId = EXEC_ID): Req {
  const proc = appContainer(flavour, pod)['OCI']['Process'];
  return msg('ExecProcessRequest', {
    container_id: APP_ID,
    exec_id: execId,
    process: { ...proc, Args: args, Terminal: false, Capabilities: null, OOMScoreAdj: 0 },
  });
}
/**
 * The requests the runtime sends, in order, to start the lab pod `pod` (kata_agent.go startSandbox,
 * then createContainer / startContainer per container; the sandbox's network first).
 */
export function labPodRequests(flavour: Flavour, pod: string): AgentRequest[] {
  const pre = flavour === 'guest-pull';
  const files = appFiles();
  if (pre) files.push({ path: shared(APP_ID, '5d2c0a8b9e7f6a1b', 'data'), size: 0, mode: S_IFDIR | 0o777 });
  return [
    ['UpdateInterfaceRequest', updateInterface()],
    ['UpdateRoutesRequest', updateRoutes()],
    ['CreateSandboxRequest', createSandbox(pod)],
    ['GuestDetailsRequest', guestDetails()],
    [
      'CopyFileRequest',
      copyFile(
        { path: shared(SANDBOX, 'fcc2557fcee4b4da', 'resolv.conf'), size: 102, mode: S_IFREG | 0o644 },
        pre,
      ),
    ],
    ['CreateContainerRequest', pauseContainer(flavour, pod)],
    // agent.proto StartContainerRequest / WaitProcessRequest (the shim waits on the container's init
    // process, whose exec id is the container id) and the shim's GetOOMEvent poll (kata_agent.go).
    ['StartContainerRequest', { container_id: SANDBOX }],
    ['WaitProcessRequest', { container_id: SANDBOX, exec_id: SANDBOX }],
    ['GetOOMEventRequest', {}],
    ...files.map((f): AgentRequest => ['CopyFileRequest', copyFile(f, pre)]),
    ['CreateContainerRequest', appContainer(flavour, pod)],
    ['StartContainerRequest', { container_id: APP_ID }],
  ];
}
