// A StatefulSet built like Contrast's Coordinator: a raw block device from a volumeClaimTemplate
// (volumeDevices), plus a file-system claim template mounted with volumeMounts. Its pod's agent
// requests — the lab pod's (test/helpers/policy/lab-requests.ts) plus the block device and the bind mount the
// Kata runtime adds for the claims, written down by hand — must be allowed by the generated policy in
// both flavours; another device path, an extra device or another mount source/destination denied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flavour } from './index.js';
import type { AgentSession } from '../policyeval/index.js';
import { allows, clone, wouldAllow } from '../../test/helpers/policy/harness.js';
import type { AgentRequest } from '../../test/helpers/policy/harness.js';
import { APP_ID, CPATH, NS, labImage, labSession } from '../../test/helpers/policy/lab-requests.js';
import type { Req } from '../../test/helpers/policy/lab-requests.js';

const POD = 'coordinator-0';

function yaml(image: string): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: coordinator, namespace: ${NS}}
spec:
  serviceName: coordinator
  template:
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: app
          image: ${image}
          volumeMounts:
            - {name: data, mountPath: /data}
            - {name: state, mountPath: /var/lib/state}
          volumeDevices:
            - {name: state-device, devicePath: /dev/csi0}
      volumes: [{name: data, emptyDir: {}}]
  volumeClaimTemplates:
    - metadata: {name: state-device}
      spec: {volumeMode: Block, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
    - metadata: {name: state}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;
}

/** What the runtime adds to the app container's request for the two claims. */
function addClaims(app: Req): void {
  // The file-system claim: a bind mount of the container's shared-directory entry, like any PVC.
  app['OCI']['Mounts'].push({
    destination: '/var/lib/state',
    source: `${CPATH}/${APP_ID}-0123456789abcdef-state`,
    type_: 'bind',
    options: ['rbind', 'rprivate', 'rw'],
  });
  // The block claim: hot-plugged as a virtio-blk disk, announced in `devices`, and the OCI device
  // entry at the container path (major/minor as the guest sees the disk).
  app['devices'] = [
    { id: '02/00', type_: 'blk', vm_path: '/dev/vdb', container_path: '/dev/csi0', options: [] },
  ];
  app['OCI']['Linux']['Devices'] = [
    { Path: '/dev/csi0', Type: 'b', Major: 254, Minor: 16, FileMode: 432, UID: 0, GID: 0 },
  ];
}

async function setup(flavour: Flavour): Promise<{ agent: AgentSession; reqs: AgentRequest[]; app: number }> {
  const s = await labSession(flavour, yaml(labImage(flavour)), POD, 'coordinator');
  const app = s.reqs.findIndex((r) => r[0] === 'CreateContainerRequest' && r[1]['container_id'] === APP_ID);
  addClaims(s.reqs[app]![1]);
  return { ...s, app };
}

const tamperings: Array<[string, (i: Req) => void]> = [
  [
    'the block device at another path',
    (i) => {
      i['devices'][0]['container_path'] = '/dev/csi1';
      i['OCI']['Linux']['Devices'][0]['Path'] = '/dev/csi1';
    },
  ],
  [
    'an extra OCI device (a host disk)',
    (i) =>
      i['OCI']['Linux']['Devices'].push({
        Path: '/dev/sda',
        Type: 'b',
        Major: 8,
        Minor: 0,
        FileMode: 432,
        UID: 0,
        GID: 0,
      }),
  ],
  [
    'an extra agent device',
    (i) =>
      i['devices'].push({
        id: '03/00',
        type_: 'blk',
        vm_path: '/dev/vdc',
        container_path: '/dev/vdc',
        options: [],
      }),
  ],
  [
    'the file-system claim from another source',
    (i) => (i['OCI']['Mounts'].at(-1)['source'] = `${CPATH}/${APP_ID}-0123456789abcdef-etc`),
  ],
  [
    'the file-system claim at another destination',
    (i) => (i['OCI']['Mounts'].at(-1)['destination'] = '/etc'),
  ],
  [
    'the block device mounted as a file system',
    (i) => (i['OCI']['Mounts'].at(-1)['destination'] = '/dev/csi0'),
  ],
];

for (const flavour of ['host-pull', 'guest-pull'] as const) {
  test(`${flavour}: the StatefulSet pod with a claim-template block device and mount is allowed`, async () => {
    const s = await setup(flavour);
    for (const [type, input] of s.reqs) assert.ok(allows(s.agent, type, input), `${type} denied`);
  });

  for (const [name, change] of tamperings) {
    test(`${flavour}: claim templates: denied: ${name}`, async () => {
      const s = await setup(flavour);
      for (const [type, input] of s.reqs.slice(0, s.app))
        assert.ok(allows(s.agent, type, input), `${type} denied`);
      const [type, input] = s.reqs[s.app]!;
      assert.ok(wouldAllow(s.agent, type, input), 'untampered request allowed');
      const bad = clone(input) as Req;
      change(bad);
      assert.equal(wouldAllow(s.agent, type, bad), false);
    });
  }
}
