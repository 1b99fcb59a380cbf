// Agent requests for a lab pod: one app container `app` running the lab's test/app:v1 with an emptyDir
// at /data. Built from the recorded AKS requests (same shapes and fields), with the values written
// down BY HAND from what the Kata runtime sends for such a pod, never derived from a generated
// policy. Tests adapt them (other pod kinds, volumes) and check that the generated policy allows
// them and denies tampered variants.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { sharedPath } from '../../../test/helpers/shared.js';
import { findWorkloads, parseKubeFile } from '../../kube/index.js';
import type { AgentSession } from '../../policyeval/index.js';
import { generatePolicies, loadPolicySettings } from '../index.js';
import type { Flavour } from '../index.js';
import { GUEST_PAUSE, LAB_APP, RECORDED_PAUSE, imageMap } from './fixtures.js';
import { agentFor, clone, loadRecorded } from './harness.js';
import type { AgentRequest } from './harness.js';

export type Req = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const SANDBOX = '5a'.repeat(32);
export const APP_ID = 'c0'.repeat(32);
export const NS = 'shop';
export const CPATH = '/run/kata-containers/shared/containers';
export const PINNED = `localhost:5000/test/app:v1@${LAB_APP.digest}`;
/** What containerd puts in image-name and the runtime in the storage source for PINNED. */
export const RESOLVED = `localhost:5000/test/app@${LAB_APP.digest}`;

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
  };
}

/** The image as the YAML writes it: digest-pinned for guest pull. */
export function labImage(flavour: Flavour): string {
  return flavour === 'guest-pull' ? PINNED : 'localhost:5000/test/app:v1';
}

/** The policy text generated for the (single) workload in `yamlText`, with the lab image fixtures. */
export async function labPolicy(flavour: Flavour, yamlText: string): Promise<string> {
  const f = parseKubeFile('pod.yaml', yamlText);
  const settings = await loadPolicySettings({ flavour });
  const pause = flavour === 'guest-pull' ? GUEST_PAUSE : RECORDED_PAUSE;
  const images = imageMap(
    [settings.cluster_config.pause_container_image, pause],
    [labImage(flavour), LAB_APP],
  );
  const [p] = await generatePolicies([f], findWorkloads([f]), images, settings, { flavour });
  return p!.policyText;
}

/**
 * An agent running the policy generated for `yamlText` (a workload called `name` in messages), and
 * the lab pod's requests for pod `pod` built from the recorded pod-cm1 log; undefined (the test is
 * skipped) when the shared recordings are absent.
 */
export async function labSession(
  t: TestContext,
  flavour: Flavour,
  yamlText: string,
  pod: string,
  name: string,
): Promise<{ agent: AgentSession; reqs: AgentRequest[] } | undefined> {
  const path = sharedPath(t, join('agent-requests', 'pod-cm1.txt'));
  if (!path) return undefined;
  return {
    agent: await agentFor(await labPolicy(flavour, yamlText), `generated ${flavour} policy of ${name}`),
    reqs: labRequests(loadRecorded(path), flavour, pod),
  };
}

const layerOpts = (hash: string) => [
  'ro',
  'io.katacontainers.fs-opt.block_device=file',
  'io.katacontainers.fs-opt.is-layer',
  `io.katacontainers.fs-opt.root-hash=${hash}`,
];

/** tardev storages as the runtime sends them: top layer first, then the overlay. */
export function tardevStorages(cid: string, layers: Array<{ name: string; hash: string }>): Req[] {
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

/**
 * The request sequence for a pod named `pod` whose app container `app` runs the lab image with an
 * emptyDir at /data, adapted from the recorded cm1 log.
 */
export function labRequests(recorded: AgentRequest[], flavour: Flavour, pod: string): AgentRequest[] {
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
  sandbox['hostname'] = pod;
  sandbox['sandbox_id'] = SANDBOX;
  out.push(['CreateSandboxRequest', sandbox]);

  const oldPause = find('CreateContainerRequest', 'sandbox')[1] as Req;
  const oldPauseId = oldPause['container_id'] as string;
  const pause = JSON.parse(JSON.stringify(oldPause).replaceAll(oldPauseId, SANDBOX)) as Req;
  pause['OCI']['Process']['User'] = { UID: 65535, GID: 65535, AdditionalGids: [65535], Username: '' };
  pause['OCI']['Hostname'] = pod;
  const pa = pause['OCI']['Annotations'];
  pa['io.kubernetes.cri.sandbox-name'] = pod;
  pa['io.kubernetes.cri.sandbox-namespace'] = NS;
  pa['io.kubernetes.cri.sandbox-log-directory'] =
    `/var/log/pods/${NS}_${pod}_0b4e1d3c-5a8c-4c55-9d67-8d2f0d3c9a11`;
  pa['io.kubernetes.cri.sandbox-uid'] = '0b4e1d3c-5a8c-4c55-9d67-8d2f0d3c9a11';
  if (guest) {
    // Forced guest pull: the sandbox container gets an image_guest_pull storage whose source is the
    // literal "pause" (kata-containers src/runtime/virtcontainers/kata_agent.go
    // handleImageGuestPullBlockVolume: imageRef = "pause"; genpolicy testdata state/createcontainer).
    pause['storages'] = [guestPullStorage('pause', SANDBOX)];
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
    `HOSTNAME=${pod}`,
    ...services,
  ];
  const aa = app['OCI']['Annotations'];
  aa['io.kubernetes.cri.sandbox-name'] = pod;
  aa['io.kubernetes.cri.sandbox-namespace'] = NS;
  aa['io.kubernetes.cri.container-name'] = 'app';
  // containerd reports the image as it resolved it: the tag dropped when a digest is present
  // (genpolicy testdata createcontainer/env_vars: YAML repo:latest@sha256:D, request repo@sha256:D).
  aa['io.kubernetes.cri.image-name'] = guest ? RESOLVED : 'localhost:5000/test/app:v1';
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
    // emptyDir with emptydir_mode = "shared-fs" and shared_fs = "none" (Contrast's runtime): the
    // host directory is copied in (CopyFile, Directory) and bind-mounted from the shared directory
    // under <container id>-<16 hex>-<basename of the mount path> (runtime fs_share_linux.go).
    app['OCI']['Mounts'].push({
      destination: '/data',
      source: `${CPATH}/${APP_ID}-5d2c0a8b9e7f6a1b-data`,
      type_: 'bind',
      options: ['rbind', 'rprivate', 'rw'],
    });
    app['storages'] = [guestPullStorage(RESOLVED, APP_ID)];
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
