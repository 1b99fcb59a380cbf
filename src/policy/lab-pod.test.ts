// A workload of ours (a Deployment running the lab's test/app:v1) in both flavours. Its agent requests
// are built from the recorded AKS requests (same shapes and fields), with the values written down BY
// HAND from what the Kata runtime sends for this pod, not derived from the generated policy: the
// policy must allow them, and tampered variants must be denied.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { findWorkloads, parseKubeFile } from '../kube/index.js';
import { sharedPath } from '../../test/helpers/shared.js';
import { generatePolicies, loadPolicySettings } from './index.js';
import type { Flavour } from './index.js';
import type { AgentSession } from '../policyeval/index.js';
import { agentFor, allows, clone, loadRecorded, wouldAllow } from './testdata/harness.js';
import type { AgentRequest } from './testdata/harness.js';
import { GUEST_PAUSE, LAB_APP, RECORDED_PAUSE, imageMap } from './testdata/fixtures.js';

type Req = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SANDBOX = '5a'.repeat(32);
const APP_ID = 'c0'.repeat(32);
const POD = 'web-5d8f7c9b4-x7k2p';
const NS = 'shop';
const CPATH = '/run/kata-containers/shared/containers';
const PINNED = `localhost:5000/test/app:v1@${LAB_APP.digest}`;

function yaml(image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}}
spec:
  template:
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: app
          image: ${image}
          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
`;
}

async function policyFor(flavour: Flavour): Promise<string> {
  const image = flavour === 'guest-pull' ? PINNED : 'localhost:5000/test/app:v1';
  const f = parseKubeFile('web.yaml', yaml(image));
  const settings = await loadPolicySettings({ flavour });
  const pause = flavour === 'guest-pull' ? GUEST_PAUSE : RECORDED_PAUSE;
  const images = imageMap([settings.cluster_config.pause_container_image, pause], [image, LAB_APP]);
  const [p] = await generatePolicies([f], findWorkloads([f]), images, settings, { flavour });
  return p!.policyText;
}

const layerOpts = (hash: string) => [
  'ro',
  'io.katacontainers.fs-opt.block_device=file',
  'io.katacontainers.fs-opt.is-layer',
  `io.katacontainers.fs-opt.root-hash=${hash}`,
];

/** tardev storages as the runtime sends them: top layer first, then the overlay. */
function tardevStorages(cid: string, layers: Array<{ name: string; hash: string }>): Req[] {
  const out: Req[] = layers.map((l, i) => ({
    driver: 'blk',
    driver_options: [],
    source: `0001:00:0${i + 1}.0`,
    fstype: 'tar',
    options: layerOpts(l.hash),
    mount_point: `/run/kata-containers/sandbox/layers/${l.name}`,
    fs_group: null,
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
  });
  return out;
}

/** The request sequence for this pod, adapted from the recorded cm1 log. */
function requests(recorded: AgentRequest[], flavour: Flavour): AgentRequest[] {
  const guest = flavour === 'guest-pull';
  const find = (type: string, kind?: string) =>
    clone(
      recorded.find(
        (r) =>
          r[0] === type &&
          (!kind || (r[1] as Req)['OCI']['Annotations']['io.kubernetes.cri.container-type'] === kind),
      )!,
    );
  const out: AgentRequest[] = [];

  const sandbox = find('CreateSandboxRequest')[1] as Req;
  sandbox['hostname'] = POD;
  sandbox['sandbox_id'] = SANDBOX;
  out.push(['CreateSandboxRequest', sandbox]);

  const oldPause = find('CreateContainerRequest', 'sandbox')[1] as Req;
  const oldPauseId = oldPause['container_id'] as string;
  const pause = JSON.parse(JSON.stringify(oldPause).replaceAll(oldPauseId, SANDBOX)) as Req;
  pause['OCI']['Process']['User'] = { UID: 65535, GID: 65535, AdditionalGids: [65535], Username: '' };
  pause['OCI']['Hostname'] = POD;
  const pa = pause['OCI']['Annotations'];
  pa['io.kubernetes.cri.sandbox-name'] = POD;
  pa['io.kubernetes.cri.sandbox-namespace'] = NS;
  pa['io.kubernetes.cri.sandbox-log-directory'] =
    `/var/log/pods/${NS}_${POD}_0b4e1d3c-5a8c-4c55-9d67-8d2f0d3c9a11`;
  pa['io.kubernetes.cri.sandbox-uid'] = '0b4e1d3c-5a8c-4c55-9d67-8d2f0d3c9a11';
  if (guest) {
    pause['storages'] = [];
    pause['OCI']['Root']['Path'] = `/run/kata-containers/${SANDBOX}/rootfs`;
  }
  out.push(['CreateContainerRequest', pause]);

  const oldApp = find('CreateContainerRequest', 'container')[1] as Req;
  const app = JSON.parse(
    JSON.stringify(oldApp)
      .replaceAll(oldApp['container_id'] as string, APP_ID)
      .replaceAll(oldPauseId, SANDBOX),
  ) as Req;
  const proc = app['OCI']['Process'];
  proc['Args'] = ['/app/hello.sh', '--from', 'lab'];
  proc['Cwd'] = '/app';
  proc['User'] = { UID: 1000, GID: 1000, AdditionalGids: [29, 1000], Username: '' };
  proc['Capabilities'] = clone(pause['OCI']['Process']['Capabilities']);
  const services = (proc['Env'] as string[]).filter((e) => e.startsWith('KUBERNETES_'));
  proc['Env'] = [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'GREETING=hello',
    `HOSTNAME=${POD}`,
    ...services,
  ];
  const aa = app['OCI']['Annotations'];
  aa['io.kubernetes.cri.sandbox-name'] = POD;
  aa['io.kubernetes.cri.sandbox-namespace'] = NS;
  aa['io.kubernetes.cri.container-name'] = 'app';
  aa['io.kubernetes.cri.image-name'] = guest ? PINNED : 'localhost:5000/test/app:v1';
  aa['io.kubernetes.cri.sandbox-uid'] = '0b4e1d3c-5a8c-4c55-9d67-8d2f0d3c9a11';
  // Not privileged: /sys and cgroups read-only, containerd's masked and read-only paths.
  for (const m of app['OCI']['Mounts'] as Req[]) {
    if (m['destination'] === '/sys' || m['destination'] === '/sys/fs/cgroup')
      m['options'] = (m['options'] as string[]).map((o) => (o === 'rw' ? 'ro' : o));
  }
  app['OCI']['Linux']['MaskedPaths'] = clone(oldPause['OCI']['Linux']['MaskedPaths']);
  app['OCI']['Linux']['ReadonlyPaths'] = clone(oldPause['OCI']['Linux']['ReadonlyPaths']);
  if (guest) {
    app['OCI']['Root']['Path'] = `/run/kata-containers/${APP_ID}/rootfs`;
    app['OCI']['Mounts'].push({
      destination: '/data',
      source: '/run/kata-containers/sandbox/ephemeral/data',
      type_: 'bind',
      options: ['rbind', 'rprivate', 'rw'],
    });
    app['storages'] = [
      {
        driver: 'image_guest_pull',
        driver_options: ['image_guest_pull={"metadata":{}}'],
        source: PINNED,
        fstype: 'overlay',
        options: [],
        mount_point: `/run/kata-containers/${APP_ID}/rootfs`,
        fs_group: null,
      },
      {
        driver: 'ephemeral',
        driver_options: [],
        source: 'tmpfs',
        fstype: 'tmpfs',
        options: [],
        mount_point: '/run/kata-containers/sandbox/ephemeral/data',
        fs_group: null,
      },
    ];
  } else {
    app['OCI']['Mounts'].push({
      destination: '/data',
      source: `${CPATH}/${SANDBOX}/rootfs/local/data`,
      type_: 'local',
      options: ['rbind', 'rprivate', 'rw'],
    });
    app['storages'] = [
      ...tardevStorages(APP_ID, [
        { name: 'ab'.repeat(32), hash: '2'.repeat(64) },
        { name: 'cd'.repeat(32), hash: '1'.repeat(64) },
      ]),
      {
        driver: 'local',
        driver_options: [],
        source: 'local',
        fstype: 'local',
        options: ['mode=0777'],
        mount_point: `${CPATH}/${SANDBOX}/rootfs/local/data`,
        fs_group: null,
      },
    ];
  }
  // CopyFile requests for this container's shared files (the recorded cm1 ones, for our ids).
  for (const r of recorded.filter((x) => x[0] === 'CopyFileRequest')) {
    out.push(
      JSON.parse(
        JSON.stringify(r)
          .replaceAll(oldApp['container_id'] as string, APP_ID)
          .replaceAll(oldPauseId, SANDBOX),
      ) as AgentRequest,
    );
  }
  out.push(['CreateContainerRequest', app]);
  out.push(['StartContainerRequest', { container_id: APP_ID }]);
  return out;
}

async function setup(
  t: TestContext,
  flavour: Flavour,
): Promise<{ agent: AgentSession; reqs: AgentRequest[] } | undefined> {
  const path = sharedPath(t, join('agent-requests', 'pod-cm1.txt'));
  if (!path) return undefined;
  return {
    agent: await agentFor(await policyFor(flavour), `generated ${flavour} policy of web`),
    reqs: requests(loadRecorded(path), flavour),
  };
}

for (const flavour of ['host-pull', 'guest-pull'] as const) {
  test(`${flavour}: the lab app Deployment's requests are allowed`, async (t) => {
    const s = await setup(t, flavour);
    if (!s) return;
    for (const [type, input] of s.reqs) assert.ok(allows(s.agent, type, input), `${type} denied`);
  });

  const appTamperings: Array<[string, (i: Req) => void]> = [
    [
      'other image',
      (i) =>
        flavour === 'guest-pull'
          ? (i['storages'][0]['source'] = `localhost:5000/test/app@sha256:${'0'.repeat(64)}`)
          : (i['storages'][0]['options'][3] = `io.katacontainers.fs-opt.root-hash=${'9'.repeat(64)}`),
    ],
    [
      'unpinned image (tag only)',
      (i) =>
        flavour === 'guest-pull'
          ? (i['storages'][0]['source'] = 'localhost:5000/test/app:v1')
          : i['storages'].splice(0, 1),
    ],
    ['extra arg', (i) => i['OCI']['Process']['Args'].push('--debug')],
    ['changed env value', (i) => (i['OCI']['Process']['Env'][1] = 'GREETING=bye')],
    ['extra env var', (i) => i['OCI']['Process']['Env'].push('EXTRA=1')],
    [
      'root user',
      (i) => (i['OCI']['Process']['User'] = { UID: 0, GID: 0, AdditionalGids: [0], Username: '' }),
    ],
    ['added capability', (i) => i['OCI']['Process']['Capabilities']['Effective'].push('CAP_SYS_ADMIN')],
    [
      'privileged',
      (i) => {
        const caps = i['OCI']['Process']['Capabilities'];
        for (const k of ['Bounding', 'Effective', 'Permitted'])
          caps[k] = [...caps[k], 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_NET_ADMIN'];
        i['OCI']['Linux']['MaskedPaths'] = [];
      },
    ],
    ['NoNewPrivileges changed', (i) => (i['OCI']['Process']['NoNewPrivileges'] = true)],
    [
      '/data from another source',
      (i) => (i['OCI']['Mounts'].at(-1)['source'] = `${CPATH}/${APP_ID}-0123456789abcdef-data`),
    ],
    ['other namespace', (i) => (i['OCI']['Annotations']['io.kubernetes.cri.sandbox-namespace'] = 'default')],
    [
      'pod name not of this Deployment',
      (i) => (i['OCI']['Annotations']['io.kubernetes.cri.sandbox-name'] = 'api-5d8f7c9b4-x7k2p'),
    ],
    ['terminal', (i) => (i['OCI']['Process']['Terminal'] = true)],
    ['working directory', (i) => (i['OCI']['Process']['Cwd'] = '/')],
  ];
  for (const [name, change] of appTamperings) {
    test(`${flavour}: denied: ${name}`, async (t) => {
      const s = await setup(t, flavour);
      if (!s) return;
      const last = s.reqs.findIndex(
        (r) => r[0] === 'CreateContainerRequest' && r[1]['container_id'] === APP_ID,
      );
      for (const [type, input] of s.reqs.slice(0, last))
        assert.ok(allows(s.agent, type, input), `${type} denied`);
      const [type, input] = s.reqs[last]!;
      assert.ok(wouldAllow(s.agent, type, input), 'untampered request allowed');
      const bad = clone(input) as Req;
      change(bad);
      assert.equal(wouldAllow(s.agent, type, bad), false);
    });
  }

  test(`${flavour}: exec and CopyFile outside the pod are denied`, async (t) => {
    const s = await setup(t, flavour);
    if (!s) return;
    for (const [type, input] of s.reqs) assert.ok(allows(s.agent, type, input), `${type} denied`);
    const exec = {
      container_id: APP_ID,
      exec_id: 'e1',
      string_user: null,
      process: {
        Terminal: false,
        ConsoleSize: null,
        User: { UID: 1000, GID: 1000, AdditionalGids: [29, 1000], Username: '' },
        Args: ['/bin/sh'],
        Env: [],
        Cwd: '/app',
        Capabilities: null,
        Rlimits: [],
        NoNewPrivileges: false,
        ApparmorProfile: '',
        OOMScoreAdj: 0,
        SelinuxLabel: '',
      },
    };
    assert.equal(allows(s.agent, 'ExecProcessRequest', exec), false);
    const copy = clone(s.reqs.find((r) => r[0] === 'CopyFileRequest')![1]);
    copy['path'] = `${CPATH}/${APP_ID}-0123456789abcdef-hosts/../../../../../etc/passwd`;
    assert.equal(allows(s.agent, 'CopyFileRequest', copy), false);
    copy['path'] = '/run/kata-containers/sandbox/layers/evil';
    assert.equal(allows(s.agent, 'CopyFileRequest', copy), false);
  });
}

test('guest-pull: a sandbox with a host-shared virtio-fs directory is denied (host-pull allows it)', async (t) => {
  for (const flavour of ['guest-pull', 'host-pull'] as const) {
    const s = await setup(t, flavour);
    if (!s) return;
    const sandbox = clone(s.reqs[0]![1]) as Req;
    sandbox['storages'].unshift({
      driver: 'virtio-fs',
      driver_options: [],
      source: 'kataShared',
      fstype: 'virtiofs',
      options: [],
      mount_point: '/run/kata-containers/shared/containers/',
      fs_group: null,
    });
    assert.equal(wouldAllow(s.agent, 'CreateSandboxRequest', sandbox), flavour === 'host-pull', flavour);
  }
});
