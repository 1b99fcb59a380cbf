// A workload of ours (a Deployment running the lab's test/app:v1) in both flavours. Its agent requests
// are built from the recorded AKS requests (same shapes and fields), with the values written down BY
// HAND from what the Kata runtime sends for this pod, not derived from the generated policy: the
// policy must allow them, and tampered variants must be denied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flavour } from './index.js';
import type { AgentSession } from '../policyeval/index.js';
import { allows, clone, wouldAllow } from '../../test/helpers/policy/harness.js';
import type { AgentRequest } from '../../test/helpers/policy/harness.js';
import {
  APP_ID,
  CPATH,
  labDeployment,
  labImage,
  labSession,
} from '../../test/helpers/policy/lab-requests.js';
import type { Req } from '../../test/helpers/policy/lab-requests.js';

const POD = 'web-5d8f7c9b4-x7k2p';

function setup(flavour: Flavour): Promise<{ agent: AgentSession; reqs: AgentRequest[] }> {
  return labSession(flavour, labDeployment(labImage(flavour)), POD, 'web');
}

for (const flavour of ['host-pull', 'guest-pull'] as const) {
  test(`${flavour}: the lab app Deployment's requests are allowed`, async () => {
    const s = await setup(flavour);
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
      (i) => (i['OCI']['Mounts'].at(-1)['source'] = `${CPATH}/${APP_ID}-0123456789abcdef-etc`),
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
    test(`${flavour}: denied: ${name}`, async () => {
      const s = await setup(flavour);
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

  test(`${flavour}: exec and CopyFile outside the pod are denied`, async () => {
    const s = await setup(flavour);
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

test('guest-pull: a sandbox with a host-shared virtio-fs directory is denied (host-pull allows it)', async () => {
  for (const flavour of ['guest-pull', 'host-pull'] as const) {
    const s = await setup(flavour);
    const sandbox = clone(s.reqs.find((r) => r[0] === 'CreateSandboxRequest')![1]) as Req;
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
