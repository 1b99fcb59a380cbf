// Request shapes of current runtimes (Kata 3.29–4.1, containerd 1.7/2.x) under guest pull, written
// by hand from the runtime's source and genpolicy's policy test data (paths cited per case), on the
// lab pod of test/helpers/policy/lab-requests.ts. Each accepted shape has tampered variants that must be denied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findWorkloads, parseKubeFile, serializeKubeFile } from '../kube/index.js';
import type { AgentSession } from '../policyeval/index.js';
import { generatePolicies, loadPolicySettings } from './index.js';
import { GUEST_PAUSE, LAB_APP, imageMap } from '../../test/helpers/policy/fixtures.js';
import { allows, clone, wouldAllow } from '../../test/helpers/policy/harness.js';
import type { AgentRequest } from '../../test/helpers/policy/harness.js';
import {
  APP_ID,
  CPATH,
  NS,
  PINNED,
  RESOLVED,
  SANDBOX,
  labDeployment,
  labSession,
} from '../../test/helpers/policy/lab-requests.js';
import type { Req } from '../../test/helpers/policy/lab-requests.js';

const POD = 'web-5d8f7c9b4-x7k2p';
const OTHER_DIGEST = `sha256:${'0'.repeat(64)}`;

function yaml(extra = ''): string {
  return labDeployment(PINNED, extra);
}

interface Lab {
  agent: AgentSession;
  reqs: AgentRequest[];
  sandbox: Req;
  pause: Req;
  app: Req;
  /** Runs every request before the app container (sandbox, pause, CopyFiles). */
  upToApp(): void;
}

async function lab(text = yaml(), pod = POD): Promise<Lab> {
  const s = await labSession('guest-pull', text, pod, 'web');
  const pauseAt = s.reqs.findIndex((r) => r[0] === 'CreateContainerRequest');
  const appAt = s.reqs.findIndex((r) => r[0] === 'CreateContainerRequest' && r[1]['container_id'] === APP_ID);
  return {
    ...s,
    sandbox: s.reqs.find((r) => r[0] === 'CreateSandboxRequest')![1] as Req,
    pause: s.reqs[pauseAt]![1] as Req,
    app: s.reqs[appAt]![1] as Req,
    upToApp() {
      for (const [type, input] of s.reqs.slice(0, appAt))
        assert.ok(allows(s.agent, type, input), `${type} denied`);
    },
  };
}

/** Judges variants of the pause container's request on a fresh sandbox. */
async function pauseVerdict(change: (p: Req) => void): Promise<boolean> {
  const l = await lab();
  assert.ok(allows(l.agent, 'CreateSandboxRequest', l.sandbox));
  const p = clone(l.pause);
  change(p);
  return wouldAllow(l.agent, 'CreateContainerRequest', p);
}

/** Judges variants of the app container's request after the pod's earlier requests. */
async function appVerdict(change: (a: Req) => void, text?: string): Promise<boolean> {
  const l = await lab(text);
  l.upToApp();
  const a = clone(l.app);
  change(a);
  return wouldAllow(l.agent, 'CreateContainerRequest', a);
}

// 1. Pause container under forced guest pull: storage source "pause" (kata-containers
//    src/runtime/virtcontainers/kata_agent.go handleImageGuestPullBlockVolume; genpolicy testdata
//    state/createcontainer), mount point /run/kata-containers/<sandbox id>/rootfs.
const pauseCases: Array<[string, (p: Req) => void, boolean]> = [
  ['source "pause" (the guest\'s pause bundle)', () => {}, true],
  [
    'the pinned pause reference, as repo@digest',
    (p) => (p['storages'][0]['source'] = `ghcr.io/edgelesssys/kubernetes/pause@${GUEST_PAUSE.digest}`),
    true,
  ],
  ['another image', (p) => (p['storages'][0]['source'] = `ghcr.io/evil/pause@${GUEST_PAUSE.digest}`), false],
  [
    'the pause image by another digest',
    (p) => (p['storages'][0]['source'] = `ghcr.io/edgelesssys/kubernetes/pause@${OTHER_DIGEST}`),
    false,
  ],
  ['no image storage', (p) => (p['storages'] = []), false],
  [
    "mounted at another container's root",
    (p) => (p['storages'][0]['mount_point'] = `/run/kata-containers/${APP_ID}/rootfs`),
    false,
  ],
  ['two image storages', (p) => p['storages'].push(clone(p['storages'][0])), false],
  [
    // containerd 2.x: sandbox image annotation and default sysctls (genpolicy settings
    // pause_container.Linux.Sysctl; containerd internal/cri/server/podsandbox).
    'containerd 2.x: podsandbox.image-name and the default sysctls',
    (p) => {
      p['OCI']['Annotations']['io.kubernetes.cri.podsandbox.image-name'] = 'registry.k8s.io/pause:3.10';
      p['OCI']['Linux']['Sysctl'] = {
        'net.ipv4.ip_unprivileged_port_start': '0',
        'net.ipv4.ping_group_range': '0 2147483647',
      };
    },
    true,
  ],
  [
    'a sysctl with another value',
    (p) => (p['OCI']['Linux']['Sysctl'] = { 'net.ipv4.ip_unprivileged_port_start': '1' }),
    false,
  ],
  ['a sysctl nobody set', (p) => (p['OCI']['Linux']['Sysctl'] = { 'kernel.panic': '1' }), false],
  [
    "another pod namespace than the YAML's",
    (p) => (p['OCI']['Annotations']['io.kubernetes.cri.sandbox-namespace'] = 'default'),
    false,
  ],
];
for (const [name, change, want] of pauseCases) {
  test(`guest pull pause container: ${name} → ${want ? 'allowed' : 'denied'}`, async () => {
    const v = await pauseVerdict(change);
    assert.equal(v, want);
  });
}

test('guest pull: "pause" is no source for an app container', async () => {
  const v = await appVerdict((a) => (a['storages'][0]['source'] = 'pause'));
  assert.equal(v, false);
});

// 2. Images by digest: containerd reports repo@sha256:D for a YAML repo:tag@sha256:D (genpolicy
//    testdata createcontainer/env_vars: YAML …/gid:latest@sha256:bdbb…, request …/gid@sha256:bdbb…).
const repo = 'localhost:5000/test/app';
const imageCases: Array<[string, (a: Req) => void, boolean]> = [
  ['repo@digest in storage and image-name', () => {}, true],
  [
    'repo:tag@digest (the YAML form) in storage and image-name',
    (a) => {
      a['storages'][0]['source'] = PINNED;
      a['OCI']['Annotations']['io.kubernetes.cri.image-name'] = PINNED;
    },
    true,
  ],
  [
    'no image-name annotation (the storage pins the image)',
    (a) => delete a['OCI']['Annotations']['io.kubernetes.cri.image-name'],
    true,
  ],
  ['storage: other digest', (a) => (a['storages'][0]['source'] = `${repo}@${OTHER_DIGEST}`), false],
  [
    'storage: other repository, same digest',
    (a) => (a['storages'][0]['source'] = `localhost:5000/evil/app@${LAB_APP.digest}`),
    false,
  ],
  ['storage: tag only', (a) => (a['storages'][0]['source'] = `${repo}:v1`), false],
  ['storage: digest with junk after it', (a) => (a['storages'][0]['source'] = `${RESOLVED}x`), false],
  [
    'image-name names another image',
    (a) => (a['OCI']['Annotations']['io.kubernetes.cri.image-name'] = `${repo}@${OTHER_DIGEST}`),
    false,
  ],
  [
    'storage mounted elsewhere',
    (a) => (a['storages'][0]['mount_point'] = `/run/kata-containers/${SANDBOX}/rootfs`),
    false,
  ],
  ['no image storage', (a) => a['storages'].splice(0, 1), false],
  // 3. containerd 2.x: io.kubernetes.cri.* keys without identity meaning are accepted, identity
  //    keys stay checked (genpolicy rules allow_anno_key_value accepts io.kubernetes.cri.*).
  [
    'an informational io.kubernetes.cri.* annotation',
    (a) => (a['OCI']['Annotations']['io.kubernetes.cri.sandbox-cpu-quota-extra'] = '1'),
    true,
  ],
  [
    'another container name',
    (a) => (a['OCI']['Annotations']['io.kubernetes.cri.container-name'] = 'evil'),
    false,
  ],
  [
    'another container type',
    (a) => (a['OCI']['Annotations']['io.kubernetes.cri.container-type'] = 'sandbox'),
    false,
  ],
  ['a non-cri annotation nobody set', (a) => (a['OCI']['Annotations']['example.com/evil'] = '1'), false],
  [
    'containerd 2.x default sysctls',
    (a) =>
      (a['OCI']['Linux']['Sysctl'] = {
        'net.ipv4.ip_unprivileged_port_start': '0',
        'net.ipv4.ping_group_range': '0 2147483647',
      }),
    true,
  ],
  // 5. /sys/fs/cgroup extras on cgroup v2 with containerd >= 2.2.3 (genpolicy testdata
  //    createcontainer/cgroup_mount_extras; settings cluster_config.cgroup_mount_extras_allowed).
  [
    'cgroup mount with nsdelegate, memory_recursiveprot',
    (a) => cgroupMount(a)['options'].push('nsdelegate', 'memory_recursiveprot'),
    true,
  ],
  ['cgroup mount with another extra option', (a) => cgroupMount(a)['options'].push('rw'), false],
  ['cgroup mount missing an option', (a) => cgroupMount(a)['options'].splice(0, 1), false],
];
// Also: Contrast's runtime (shared_fs = "none", emptydir_mode = "shared-fs") copies a disk emptyDir
// in and bind-mounts it from the shared directory (runtime fs_share_linux.go; genpolicy
// mount_and_storage.rs get_host_empty_dir_mount accepts the sandbox-wide copy too).
const dataMount = (a: Req): Req => (a['OCI']['Mounts'] as Req[]).find((m) => m['destination'] === '/data')!;
imageCases.push(
  [
    'emptyDir as the sandbox-wide copy',
    (a) => (dataMount(a)['source'] = `${CPATH}/sandbox-0123456789abcdef-data`),
    true,
  ],
  [
    "emptyDir from another volume's copy",
    (a) => (dataMount(a)['source'] = `${CPATH}/sandbox-0123456789abcdef-other`),
    false,
  ],
  [
    'emptyDir from a guest tmpfs',
    (a) => (dataMount(a)['source'] = '/run/kata-containers/sandbox/ephemeral/data'),
    false,
  ],
  ['emptyDir read-only', (a) => (dataMount(a)['options'] = ['rbind', 'rprivate', 'ro']), false],
);

function cgroupMount(a: Req): Req {
  return (a['OCI']['Mounts'] as Req[]).find((m) => m['destination'] === '/sys/fs/cgroup')!;
}
for (const [name, change, want] of imageCases) {
  test(`guest pull app container: ${name} → ${want ? 'allowed' : 'denied'}`, async () => {
    const v = await appVerdict(change);
    assert.equal(v, want);
  });
}

// 5. containerd >= 2.0.4 mounts the pause container's /sys read-write when a container of the pod
//    is privileged; older ones read-only (genpolicy policy.rs handles both).
test('pause /sys: rw or ro when the pod has a privileged container, ro otherwise', async () => {
  const privileged = yaml('          securityContext: {privileged: true}\n');
  const sysMount = (p: Req) => (p['OCI']['Mounts'] as Req[]).find((m) => m['destination'] === '/sys')!;
  for (const [text, rwAllowed] of [
    [privileged, true],
    [yaml(), false],
  ] as const) {
    const l = await lab(text);
    assert.ok(allows(l.agent, 'CreateSandboxRequest', l.sandbox));
    const ro = clone(l.pause);
    assert.ok(sysMount(ro)['options'].includes('ro'));
    assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', ro), true, 'ro');
    const rw = clone(l.pause);
    sysMount(rw)['options'] = (sysMount(rw)['options'] as string[]).map((o) => (o === 'ro' ? 'rw' : o));
    assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', rw), rwAllowed, 'rw');
    const both = clone(l.pause);
    sysMount(both)['options'].push('rw');
    assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', both), false, 'rw and ro');
  }
});

// 6. Indexed Jobs: the Job controller adds JOB_COMPLETION_INDEX (kubernetes
//    pkg/controller/job/indexed_job_utils.go addCompletionIndexEnvVariable; genpolicy settings
//    allow_env_regex).
test('JOB_COMPLETION_INDEX=<n> is allowed for Job pods only', async () => {
  const job = `apiVersion: batch/v1
kind: Job
metadata: {name: web, namespace: ${NS}}
spec:
  completionMode: Indexed
  template:
    spec:
      runtimeClassName: contrast-cc
      restartPolicy: Never
      containers:
        - name: app
          image: ${PINNED}
          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
`;
  const jobPod = 'web-3-x7k2p';
  for (const [text, pod, want] of [
    [job, jobPod, true],
    [yaml(), POD, false],
  ] as const) {
    const l = await lab(text, pod);
    l.upToApp();
    const a = clone(l.app);
    assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', a), true, 'without the variable');
    a['OCI']['Process']['Env'].push('JOB_COMPLETION_INDEX=3');
    assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', a), want, text.split('\n')[1]);
    const bad = clone(l.app);
    bad['OCI']['Process']['Env'].push('JOB_COMPLETION_INDEX=3; rm -rf /');
    assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', bad), false, 'not a number');
  }
});

// 12. An image VOLUME without a volumeMount: containerd makes a host directory, the runtime copies
//     it in and bind-mounts it from the shared directory (genpolicy mount_and_storage.rs
//     get_image_mount_and_storage; testdata createcontainer/volumes/container_image).
test('an image VOLUME without a volumeMount is bind-mounted from the shared directory', async () => {
  const text = yaml().replace('          volumeMounts: [{name: data, mountPath: /data}]\n', '');
  const l = await lab(text);
  l.upToApp();
  const a = clone(l.app);
  a['storages'] = a['storages'].filter((s: Req) => s['driver'] === 'image_guest_pull');
  const data = (a['OCI']['Mounts'] as Req[]).find((m) => m['destination'] === '/data')!;
  data['source'] = `${CPATH}/${APP_ID}-0123456789abcdef-data`;
  assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', a), true);
  data['source'] = `${CPATH}/${APP_ID}-0123456789abcdef-etc`;
  assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', a), false, 'other source');
  data['options'] = ['rbind', 'rshared', 'rw'];
  assert.equal(wouldAllow(l.agent, 'CreateContainerRequest', a), false, 'other options');
});

// 8. CopyFile on Kata >= 3.29: the agent judges the pre-processed PolicyCopyFileRequest
//    (src/agent/policy/src/policy.rs; genpolicy testdata copyfile). Older agents: the raw request.
test('CopyFile: pre-processed (Kata >= 3.29) and raw shapes, with the same strictness', async () => {
  const l = await lab();
  const dir = `${CPATH}/${APP_ID}-0123456789abcdef-config`;
  const pre = (o: Req) => ({
    path: dir,
    file_size: 0,
    file_mode: 0,
    dir_mode: 0,
    uid: 0,
    gid: 0,
    offset: 0,
    symlink_target: null,
    ...o,
  });
  const cases: Array<[string, Req, boolean]> = [
    ['regular file', pre({ path: `${dir}/a.txt`, file_type: 'Regular', file_mode: 0o100644 }), true],
    ['directory at the top level', pre({ file_type: 'Directory', file_mode: 0o40755 }), true],
    [
      'symlink below the top level, relative',
      pre({ path: `${dir}/a`, file_type: 'Symlink', symlink_target: '..data/a' }),
      true,
    ],
    ['symlink at the top level', pre({ file_type: 'Symlink', symlink_target: 'x' }), false],
    [
      'symlink to an absolute path',
      pre({ path: `${dir}/a`, file_type: 'Symlink', symlink_target: '/' }),
      false,
    ],
    [
      'symlink climbing out',
      pre({ path: `${dir}/a`, file_type: 'Symlink', symlink_target: 'b/../../x' }),
      false,
    ],
    ['symlink to ..', pre({ path: `${dir}/a`, file_type: 'Symlink', symlink_target: '..' }), false],
    ['symlink without target', pre({ path: `${dir}/a`, file_type: 'Symlink' }), false],
    [
      'Unknown type (device, fifo)',
      pre({ path: `${dir}/a`, file_type: 'Unknown', file_mode: 0o20644 }),
      false,
    ],
    ['setuid regular file', pre({ path: `${dir}/a`, file_type: 'Regular', file_mode: 0o104755 }), false],
    ['outside the shared prefix', pre({ path: '/etc/passwd', file_type: 'Regular' }), false],
    [
      'into a container root (guest pull)',
      pre({ path: `/run/kata-containers/${APP_ID}/rootfs/bin/sh`, file_type: 'Regular' }),
      false,
    ],
    ['with ..', pre({ path: `${dir}/../../x`, file_type: 'Regular' }), false],
    // raw shape (older agents, recorded logs): file_mode carries the type, symlink_src the source
    ['raw regular file', { path: `${dir}/a`, file_mode: 0o100644, symlink_src: '' }, true],
    ['raw symlink, relative', { path: `${dir}/a`, file_mode: 0o120777, symlink_src: '..data/a' }, true],
    ['raw symlink, absolute', { path: `${dir}/a`, file_mode: 0o120777, symlink_src: '/etc' }, false],
    ['raw device', { path: `${dir}/a`, file_mode: 0o20644, symlink_src: '' }, false],
    ['raw setgid file', { path: `${dir}/a`, file_mode: 0o102755, symlink_src: '' }, false],
  ];
  for (const [name, req, want] of cases)
    assert.equal(wouldAllow(l.agent, 'CopyFileRequest', req), want, name);
});

// 4. Network requests come before any container (runtime network.go / network_linux.go).
test('network: raw_flags mask, ARP states, loopback route sources (IPv4 and IPv6)', async () => {
  const l = await lab();
  const route = (source: string, device = 'eth0') => ({
    routes: {
      Routes: [{ dest: '', gateway: '10.244.0.1', device, source, scope: 0, family: 0, flags: 0, mtu: 0 }],
    },
  });
  assert.equal(wouldAllow(l.agent, 'UpdateRoutesRequest', route('')), true);
  assert.equal(wouldAllow(l.agent, 'UpdateRoutesRequest', route('10.244.0.5')), true);
  for (const bad of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '00::001'])
    assert.equal(wouldAllow(l.agent, 'UpdateRoutesRequest', route(bad)), false, bad);
  assert.equal(wouldAllow(l.agent, 'UpdateRoutesRequest', route('', 'lo')), false, 'lo');
  const iface = (raw_flags: number) => ({
    interface: {
      device: 'eth0',
      name: 'eth0',
      IPAddresses: [{ family: 0, address: '10.244.0.14', mask: '24' }],
      mtu: 1500,
      hwAddr: '66:74:9f:6a:96:01',
      devicePath: '',
      type_: '',
      raw_flags,
    },
  });
  assert.equal(wouldAllow(l.agent, 'UpdateInterfaceRequest', iface(0)), true);
  assert.equal(wouldAllow(l.agent, 'UpdateInterfaceRequest', iface(128)), true, 'IFF_NOARP');
  assert.equal(wouldAllow(l.agent, 'UpdateInterfaceRequest', iface(64)), false);
  assert.equal(wouldAllow(l.agent, 'UpdateInterfaceRequest', iface(129)), false);
});

// 9. Defaults: VolumeStats denied (upstream since 4.0), GetDiagnosticData false unless enabled,
//    ExecProcess with an AppArmor profile or SELinux label denied (genpolicy rules
//    allow_exec_process_input; testdata state/execprocess).
test('VolumeStats and GetDiagnosticData are denied; exec with AppArmor/SELinux is denied', async () => {
  const l = await lab(yaml('          readinessProbe: {exec: {command: [/bin/true]}}\n'));
  for (const [type, input] of l.reqs) assert.ok(allows(l.agent, type, input), `${type} denied`);
  assert.equal(wouldAllow(l.agent, 'VolumeStatsRequest', { volume_guest_path: '/etc' }), false);
  assert.equal(wouldAllow(l.agent, 'GetDiagnosticDataRequest', {}), false);
  const exec = {
    container_id: APP_ID,
    exec_id: 'e1',
    string_user: null,
    process: {
      ...clone(l.app['OCI']['Process']),
      Args: ['/bin/true'],
      Terminal: false,
      Capabilities: null,
      ApparmorProfile: '',
      SelinuxLabel: '',
    },
  };
  assert.equal(wouldAllow(l.agent, 'ExecProcessRequest', exec), true, 'probe command');
  assert.equal(
    wouldAllow(l.agent, 'ExecProcessRequest', {
      ...exec,
      process: { ...exec.process, ApparmorProfile: 'unconfined' },
    }),
    false,
    'AppArmor profile',
  );
  assert.equal(
    wouldAllow(l.agent, 'ExecProcessRequest', { ...exec, process: { ...exec.process, SelinuxLabel: 'x' } }),
    false,
    'SELinux label',
  );
});

// 2. An image without a digest under guest pull: the YAML is pinned (name:tag@sha256:…) with a
//    message, so containerd sends the digest and the policy can admit it.
test('guest pull pins an unpinned YAML image to name:tag@sha256:… (the policy admits only that)', async () => {
  const text = yaml().replace(PINNED, 'localhost:5000/test/app:v1');
  const f = parseKubeFile('pod.yaml', text);
  const settings = await loadPolicySettings({ flavour: 'guest-pull' });
  const images = imageMap(
    [settings.cluster_config.pause_container_image, GUEST_PAUSE],
    ['localhost:5000/test/app:v1', LAB_APP],
  );
  const [p] = await generatePolicies([f], findWorkloads([f]), images, settings, { flavour: 'guest-pull' });
  const out = serializeKubeFile(f);
  assert.match(out, new RegExp(`image: localhost:5000/test/app:v1@${LAB_APP.digest}`));
  assert.equal(p!.data.containers[1]!.image_guest_pull!.digest, LAB_APP.digest);
  // host pull pins layers, not the reference: the YAML stays as written
  const h = parseKubeFile('pod.yaml', text);
  await generatePolicies(
    [h],
    findWorkloads([h]),
    images,
    await loadPolicySettings({ flavour: 'host-pull' }),
    {
      flavour: 'host-pull',
    },
  ).catch(() => undefined);
  assert.doesNotMatch(serializeKubeFile(h), /@sha256/);
});

/** The lab pod with `limits` on its app container, run up to the app's CreateContainerRequest. */
async function gpuLab(limits: string): Promise<Lab> {
  const l = await lab(
    yaml().replace(
      '          volumeMounts:',
      `          resources: {limits: ${limits}}\n          volumeMounts:`,
    ),
  );
  l.upToApp();
  return l;
}

/** A hot-plugged GPU as the runtime passes it (genpolicy testdata createcontainer/gpu_vfio_cdi). */
function vfioGpu(n: string, addr = '0000:65:00.0=06/00'): Req {
  return {
    id: `vfio${n}`,
    type_: 'vfio-pci-gk',
    vm_path: '',
    container_path: `/dev/vfio/devices/vfio${n}`,
    options: [addr],
  };
}

/** Whether the app container is admitted with these devices, CDI annotations and extra env vars. */
function gpuVerdict(l: Lab, devices: Req[], cdi: Record<string, string>, env: string[] = []): boolean {
  const a = clone(l.app);
  a['devices'] = devices;
  Object.assign(a['OCI']['Annotations'], cdi);
  a['OCI']['Process']['Env'].push(...env);
  return wouldAllow(l.agent, 'CreateContainerRequest', a);
}

// 7. GPU pods (the settings' pgpu_resource_keys, nvidia.com/pgpu): one VFIO device per GPU
//    (hot-plug: /dev/vfio/devices/vfio<n>, id vfio<n>, type vfio-pci-gk, PCI address options) or
//    none (cold-plug), and one CDI annotation cdi.k8s.io/vfio<n> = nvidia.com/gpu=<k> per GPU
//    (genpolicy testdata createcontainer/gpu_vfio_cdi).
test('GPU pods: exactly the VFIO devices and CDI annotations of their GPUs', async () => {
  const l = await gpuLab('{nvidia.com/pgpu: 2}');
  const dev = vfioGpu;
  const judge = (devices: Req[], cdi: Record<string, string>) => gpuVerdict(l, devices, cdi);
  const two = { 'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0', 'cdi.k8s.io/vfio2': 'nvidia.com/gpu=1' };
  assert.equal(judge([dev('1'), dev('2', '0000:66:00.0=06/00')], two), true, 'hot-plug');
  assert.equal(judge([], two), true, 'cold-plug');
  assert.equal(judge([], {}), false, 'no GPU at all');
  assert.equal(judge([], { 'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0' }), false, 'cold-plug, one annotation');
  assert.equal(
    judge([dev('1'), dev('2')], { 'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0' }),
    false,
    'one annotation',
  );
  assert.equal(
    judge([dev('1'), dev('2')], {
      'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0',
      'cdi.k8s.io/vfio3': 'nvidia.com/gpu=1',
    }),
    false,
    'numbers differ',
  );
  assert.equal(judge([dev('1'), dev('1')], two), false, 'same device twice');
  assert.equal(
    judge([dev('1'), dev('2'), dev('3')], { ...two, 'cdi.k8s.io/vfio3': 'nvidia.com/gpu=2' }),
    false,
    'three',
  );
  assert.equal(
    judge([dev('1'), dev('2')], { ...two, 'cdi.k8s.io/vfio2': 'invalid' }),
    false,
    'annotation value',
  );
  assert.equal(judge([dev('1'), { ...dev('2'), options: ['/dev/sda'] }], two), false, 'not a PCI address');
  assert.equal(judge([dev('1'), { ...dev('2'), type_: 'vfio-pci' }], two), false, 'another device type');
  // A pod without GPUs admits none.
  const plain = await lab();
  plain.upToApp();
  assert.equal(
    gpuVerdict(plain, [dev('1')], { 'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0' }),
    false,
    'GPU for a pod without GPUs',
  );
});

// Contrast's production genpolicy settings add three named GPU resources to pgpu_resource_keys
// (edgelesssys/contrast packages/by-name/kata/genpolicy/genpolicy_settings_prod.patch @2219980f:
// nvidia.com/GB100_B200, nvidia.com/GB110_B300_SXM6_AC, nvidia.com/GH100_H100_PCIE); our guest-pull
// defaults must accept a pod that asks for them, with their VFIO devices.
test("GPU pods: Contrast's named GPU resources (GH100_H100_PCIE, GB100_B200, GB110_B300_SXM6_AC)", async () => {
  for (const key of [
    'nvidia.com/GH100_H100_PCIE',
    'nvidia.com/GB100_B200',
    'nvidia.com/GB110_B300_SXM6_AC',
  ]) {
    const l = await gpuLab(`{${key}: 1}`);
    const one = { 'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0' };
    assert.equal(gpuVerdict(l, [vfioGpu('1')], one), true, `${key}: hot-plug`);
    assert.equal(gpuVerdict(l, [], one), true, `${key}: cold-plug`);
    assert.equal(gpuVerdict(l, [], {}), false, `${key}: no GPU`);
    assert.equal(gpuVerdict(l, [vfioGpu('1'), vfioGpu('2')], one), false, `${key}: two`);
  }
});

// GPU env vars. ../shared/docs/contrast-generate.md:353: Contrast's base genpolicy settings allow
// `PCI_RESOURCE_NVIDIA_COM…` variables for GPU pods (the exact regex is in no Contrast source we could
// read). Their shape comes from NVIDIA's kubevirt GPU device plugin (NVIDIA/kubevirt-gpu-device-plugin
// @d26f2374): pkg/device_plugin/generic_device_plugin.go `gpuPrefix = "PCI_RESOURCE_NVIDIA_COM"`,
// Allocate's key `fmt.Sprintf("%s_%s", gpuPrefix, strings.ToUpper(dpi.deviceName))` and buildEnv's
// value `strings.Join(devList, ",")` of the allocated device IDs, which are the sysfs names under
// /sys/bus/pci/devices (device_plugin.go createIommuDeviceMap: `addr: info.Name()`, kernel format
// %04x:%02x:%02x.%d); deviceName is the pci.ids name upper-cased, `/`, `.` and spaces turned into
// `_`, anything but [a-zA-Z0-9_.] dropped (device_plugin.go getDeviceName), or the hex device ID.
// The agent checks the request before add_devices (kata-containers src/agent/src/rpc.rs
// create_container: is_allowed first) and its update_env_pci rewrites only PCIDEVICE_* variables
// (src/agent/src/device/mod.rs), so the policy sees the host's BDFs as the device plugin wrote them.
test("GPU pods: the device plugin's PCI_RESOURCE_NVIDIA_COM_<NAME>=<BDF>[,<BDF>…] variable", async () => {
  const l = await gpuLab('{nvidia.com/GH100_H100_PCIE: 1}');
  const judge = (...env: string[]) =>
    gpuVerdict(l, [vfioGpu('1')], { 'cdi.k8s.io/vfio1': 'nvidia.com/gpu=0' }, env);
  assert.equal(judge(), true, 'without the variable');
  for (const ok of [
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0',
    'PCI_RESOURCE_NVIDIA_COM_GA100_A100_PCIE_40GB=0000:65:00.0',
    // older plugin versions list every function of the IOMMU group (GPU + audio)
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0,0000:65:00.1,0000:66:1f.7',
    // getDeviceName's fallback: the hex device ID, upper-cased by Allocate
    'PCI_RESOURCE_NVIDIA_COM_2331=0000:65:00.0',
  ])
    assert.equal(judge(ok), true, ok);
  for (const bad of [
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0;rm -rf /',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=/dev/vfio/vfio1',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0,/etc/passwd',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0=x',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE==0000:65:00.0',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0,',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0\n',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:20.0', // slot > 0x1f
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.8', // function > 7
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:6G:00.0',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0 ',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0:0',
    'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:AB:00.0', // sysfs names are lower-case
    'PCI_RESOURCE_NVIDIA_COM_gh100_h100_pcie=0000:65:00.0', // Allocate upper-cases the name
    'PCI_RESOURCE_NVIDIA_COM_GH100-H100=0000:65:00.0',
    'PCI_RESOURCE_NVIDIA_COM_GH100.H100=0000:65:00.0',
    'PCI_RESOURCE_NVIDIA_COM_=0000:65:00.0',
    'PCI_RESOURCE_NVIDIA_COM=0000:65:00.0',
    'PCI_RESOURCE_AMD_COM_MI300X=0000:65:00.0',
    'MDEV_PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0',
    'XPCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0',
    'LD_PRELOAD=/tmp/x.so',
  ])
    assert.equal(judge(bad), false, JSON.stringify(bad));
});

// Host pull (the historical AKS-CLH-SNP platform) had no GPU variant in any Contrast release we could
// read, so its settings keep genpolicy's allowances only.
test('host pull: no PCI_RESOURCE_NVIDIA_COM allowance', async () => {
  const settings = await loadPolicySettings({ flavour: 'host-pull' });
  const env = 'PCI_RESOURCE_NVIDIA_COM_GH100_H100_PCIE=0000:65:00.0';
  assert.ok(
    settings.request_defaults.CreateContainerRequest.allow_env_regex.every(
      (r) => !r.includes('PCI_RESOURCE'),
    ),
  );
  const guest = await loadPolicySettings({ flavour: 'guest-pull' });
  assert.ok(
    guest.request_defaults.CreateContainerRequest.allow_env_regex.some((r) => new RegExp(r).test(env)),
    'guest pull allows it',
  );
});

test('other nvidia.com resources: generation fails naming the container and the resource', async () => {
  const text = yaml().replace(
    '          volumeMounts:',
    '          resources: {limits: {nvidia.com/mig-1g.5gb: 1}}\n          volumeMounts:',
  );
  const f = parseKubeFile('pod.yaml', text);
  const settings = await loadPolicySettings({ flavour: 'guest-pull' });
  const images = imageMap([settings.cluster_config.pause_container_image, GUEST_PAUSE], [PINNED, LAB_APP]);
  await assert.rejects(
    generatePolicies([f], findWorkloads([f]), images, settings, { flavour: 'guest-pull' }),
    /container "app": requests nvidia\.com\/mig-1g\.5gb: GPU pods .* only for nvidia\.com\/gpu, nvidia\.com\/pgpu/,
  );
});
