// Our rules + our policy_data against agent requests: the recorded AKS request logs replayed for pods
// written to match them must be allowed (third-party data from ../shared, skipped where absent), and
// each tampering of the lab pod's requests — written in this repository (test/helpers/policy/lab-pod-requests.ts,
// host pull, the shape of those logs) — must be denied.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedPath } from '../../test/helpers/shared.js';
import type { WorkloadPolicy } from './index.js';
import type { AgentSession } from '../policyeval/index.js';
import {
  agentFor,
  allows,
  clone,
  loadRecorded,
  pstate,
  wouldAllow,
} from '../../test/helpers/policy/harness.js';
import type { AgentRequest } from '../../test/helpers/policy/harness.js';
import { labDeployment, labSession } from '../../test/helpers/policy/lab-requests.js';
import {
  APP_ID,
  CPATH,
  NS,
  PINNED,
  SANDBOX,
  execProcess,
  pauseContainer,
  updateInterface,
} from '../../test/helpers/policy/lab-pod-requests.js';
import type { Req } from '../../test/helpers/policy/lab-pod-requests.js';
import { RECORDED_LOGS, recordedPolicies } from '../../test/helpers/policy/recorded.js';

/** A fresh agent (initial state {"pstate": {}}) holding the pod's generated policy. */
function sim(policy: WorkloadPolicy): Promise<AgentSession> {
  return agentFor(policy.policyText, `generated policy of ${policy.workload.name}`);
}

const LOGS = RECORDED_LOGS;

for (const [pod, log] of Object.entries(LOGS)) {
  test(`recorded requests of ${pod} are all allowed by its generated policy`, async (t) => {
    const path = sharedPath(t, join('agent-requests', log));
    if (!path) return;
    const policy = (await recordedPolicies()).get(pod)!;
    const agent = await sim(policy);
    const denied: string[] = [];
    for (const [type, input] of loadRecorded(path)) {
      if (type === 'AllowRequestsFailingPolicy') {
        assert.equal(allows(agent, type, input), false, 'AllowRequestsFailingPolicy must be off');
        continue;
      }
      if (!allows(agent, type, input)) denied.push(`${type} ${JSON.stringify(input).slice(0, 200)}`);
    }
    assert.deepEqual(denied, []);
    // The agent state records the pod identity and both containers.
    const state = pstate(agent) as { sandbox_name: string; containers: Record<string, number> };
    assert.equal(state.sandbox_name, pod);
    assert.equal(Object.keys(state.containers).length, 2);
  });
}

/** Replays requests up to (not including) the first matching `stop`, returns that request. */
function replayUntil(
  agent: AgentSession,
  reqs: AgentRequest[],
  stop: (r: AgentRequest) => boolean,
): AgentRequest {
  for (const r of reqs) {
    if (stop(r)) return clone(r);
    assert.ok(allows(agent, r[0], r[1]), `setup request ${r[0]} denied`);
  }
  throw new Error('request not found');
}

const isType = (type: string) => (r: AgentRequest) => r[0] === type;
const isContainer = (kind: 'sandbox' | 'container') => (r: AgentRequest) =>
  r[0] === 'CreateContainerRequest' &&
  (r[1] as Req)['OCI']['Annotations']['io.kubernetes.cri.container-type'] === kind;

interface Tamper {
  name: string;
  at: (r: AgentRequest) => boolean;
  change: (input: Req) => void;
}

const otherCid = 'f'.repeat(64);
const tamperings: Tamper[] = [
  {
    name: 'other layer root (tar storage and overlay agree on the new hash)',
    at: isContainer('container'),
    change: (i) => {
      const bad = 'ab'.repeat(32);
      const s = i['storages'][0];
      const good = s.options[3].split('=')[1];
      s.options[3] = `io.katacontainers.fs-opt.root-hash=${bad}`;
      const ov = i['storages'][i['storages'].length - 1];
      ov.options = ov.options.map((o: string) => {
        if (!o.startsWith('io.katacontainers.fs-opt.layer=')) return o;
        const dec = Buffer.from(o.slice('io.katacontainers.fs-opt.layer='.length), 'base64')
          .toString()
          .replace(good, bad);
        return `io.katacontainers.fs-opt.layer=${Buffer.from(dec).toString('base64')}`;
      });
    },
  },
  {
    name: 'a layer left out',
    at: isContainer('container'),
    change: (i) => {
      i['storages'].splice(1, 1);
    },
  },
  {
    name: 'extra arg',
    at: isContainer('container'),
    change: (i) => i['OCI']['Process']['Args'].push('--evil'),
  },
  {
    name: 'changed arg',
    at: isContainer('container'),
    change: (i) => (i['OCI']['Process']['Args'][2] = '/etc/shadow'),
  },
  {
    name: 'extra env var',
    at: isContainer('container'),
    change: (i) => i['OCI']['Process']['Env'].push('LD_PRELOAD=/tmp/x.so'),
  },
  {
    name: 'changed env value',
    at: isContainer('container'),
    change: (i) => {
      const env: string[] = i['OCI']['Process']['Env'];
      env[env.indexOf('GREETING=hello')] = 'GREETING=bye';
    },
  },
  {
    name: 'changed placeholder env value (POD_NAME of another pod)',
    at: isContainer('container'),
    change: (i) => {
      const env: string[] = i['OCI']['Process']['Env'];
      env[env.indexOf(`POD_NAME=${POD}`)] = 'POD_NAME=other';
    },
  },
  {
    name: 'other user',
    at: isContainer('container'),
    change: (i) => (i['OCI']['Process']['User']['UID'] = 0),
  },
  {
    name: 'other group',
    at: isContainer('container'),
    change: (i) => i['OCI']['Process']['User']['AdditionalGids'].push(6),
  },
  {
    name: 'added capability',
    at: isContainer('sandbox'),
    change: (i) => i['OCI']['Process']['Capabilities']['Bounding'].push('CAP_SYS_ADMIN'),
  },
  {
    name: 'privileged pause container (all capabilities, /sys rw, nothing masked)',
    at: isContainer('sandbox'),
    change: (i) => {
      const all = [
        ...i['OCI']['Process']['Capabilities']['Bounding'],
        'CAP_SYS_ADMIN',
        'CAP_NET_ADMIN',
        'CAP_SYS_MODULE',
      ];
      for (const k of ['Bounding', 'Effective', 'Permitted']) i['OCI']['Process']['Capabilities'][k] = all;
      i['OCI']['Linux']['MaskedPaths'] = [];
      i['OCI']['Linux']['ReadonlyPaths'] = [];
    },
  },
  {
    name: 'NoNewPrivileges off',
    at: isContainer('sandbox'),
    change: (i) => (i['OCI']['Process']['NoNewPrivileges'] = false),
  },
  {
    name: 'extra mount',
    at: isContainer('container'),
    change: (i) =>
      i['OCI']['Mounts'].push({
        destination: '/host',
        source: '/',
        type_: 'bind',
        options: ['rbind', 'rprivate', 'rw'],
      }),
  },
  {
    name: 'swapped mount source',
    at: isContainer('container'),
    change: (i) => {
      const m = i['OCI']['Mounts'].find(
        (x: Req) => x['destination'] === '/var/run/secrets/kubernetes.io/serviceaccount',
      );
      m.source = m.source.replace(i['container_id'], otherCid);
    },
  },
  {
    name: 'read-only mount made writable',
    at: isContainer('container'),
    change: (i) => {
      const m = i['OCI']['Mounts'].find(
        (x: Req) => x['destination'] === '/var/run/secrets/kubernetes.io/serviceaccount',
      );
      m.options = ['rbind', 'rprivate', 'rw'];
    },
  },
  {
    name: 'writable root where read-only was asked',
    at: isContainer('sandbox'),
    change: (i) => (i['OCI']['Root']['Readonly'] = false),
  },
  {
    name: 'other namespace',
    at: isContainer('container'),
    change: (i) => (i['OCI']['Annotations']['io.kubernetes.cri.sandbox-namespace'] = 'kube-system'),
  },
  {
    name: 'other sandbox name',
    at: isContainer('container'),
    change: (i) => (i['OCI']['Annotations']['io.kubernetes.cri.sandbox-name'] = 'cm2'),
  },
  {
    name: 'other sandbox name on the pause container',
    at: isContainer('sandbox'),
    change: (i) => (i['OCI']['Annotations']['io.kubernetes.cri.sandbox-name'] = 'cm2'),
  },
  {
    name: 'host network namespace joined',
    at: isContainer('sandbox'),
    change: (i) => i['OCI']['Linux']['Namespaces'].push({ Type: 'network', Path: '/proc/1/ns/net' }),
  },
  {
    name: 'UTS namespace dropped (host network pod shape)',
    at: isContainer('sandbox'),
    change: (i) =>
      (i['OCI']['Linux']['Namespaces'] = i['OCI']['Linux']['Namespaces'].filter(
        (n: Req) => n['Type'] !== 'uts',
      )),
  },
  {
    name: 'other image name',
    at: isContainer('container'),
    change: (i) => (i['OCI']['Annotations']['io.kubernetes.cri.image-name'] = 'evil.example/busybox:latest'),
  },
  {
    name: 'OCI hooks',
    at: isContainer('container'),
    change: (i) => (i['OCI']['Hooks'] = { Prestart: [{ Path: '/bin/sh' }] }),
  },
  {
    name: 'exec of a command not in the pod',
    at: isType('ExecProcessRequest'),
    change: (i) => (i['process']['Args'] = ['cat', '/etc/shadow']),
  },
  {
    name: 'exec of a probe command with an extra arg',
    at: isType('ExecProcessRequest'),
    change: (i) => i['process']['Args'].push('x'),
  },
  {
    name: 'exec as another user',
    at: isType('ExecProcessRequest'),
    change: (i) => (i['process']['User']['UID'] = 1234),
  },
  {
    name: 'CopyFile outside the allowed prefix',
    at: isType('CopyFileRequest'),
    change: (i) => (i['path'] = '/etc/passwd'),
  },
  {
    name: 'CopyFile with ..',
    at: isType('CopyFileRequest'),
    change: (i) => (i['path'] = `${i['path']}/../../../../etc/passwd`),
  },
  {
    name: 'CopyFile of a setuid file',
    at: isType('CopyFileRequest'),
    change: (i) => (i['file_mode'] = 0o104755),
  },
  {
    name: 'CopyFile symlink escaping with ..',
    at: isType('CopyFileRequest'),
    change: (i) => (i['symlink_src'] = '../../../../etc'),
  },
  {
    name: 'CreateSandbox with a guest hook',
    at: isType('CreateSandboxRequest'),
    change: (i) => (i['guest_hook_path'] = '/usr/share/oci/hooks'),
  },
  {
    name: 'CreateSandbox with an extra storage',
    at: isType('CreateSandboxRequest'),
    change: (i) =>
      i['storages'].push({
        driver: 'blk',
        driver_options: [],
        source: '/dev/vdb',
        fstype: 'ext4',
        options: [],
        mount_point: '/',
        fs_group: null,
      }),
  },
  {
    name: 'route via loopback',
    at: isType('UpdateRoutesRequest'),
    change: (i) => (i['routes']['Routes'][0]['device'] = 'lo'),
  },
  // A deny-list check must not pass because the field it checks is missing from the request.
  {
    name: 'route without a device field',
    at: isType('UpdateRoutesRequest'),
    change: (i) => delete i['routes']['Routes'][0]['device'],
  },
  {
    name: 'interface without name and device fields',
    at: isType('UpdateInterfaceRequest'),
    change: (i) => {
      delete i['interface']['name'];
      delete i['interface']['device'];
    },
  },
  {
    name: 'interface address without its address field',
    at: isType('UpdateInterfaceRequest'),
    change: (i) => delete i['interface']['IPAddresses'][0]['address'],
  },
  {
    name: 'extra namespace entry without a Path field (a new user namespace)',
    at: isContainer('sandbox'),
    change: (i) => i['OCI']['Linux']['Namespaces'].push({ Type: 'user' }),
  },
];

const POD = 'web-5d8f7c9b4-x7k2p';
/**
 * The lab Deployment of these tests: the lab image with an emptyDir, the pod name from the downward
 * API and an exec readiness probe, so container, exec and placeholder rules all have requests.
 */
const YAML = labDeployment(
  'localhost:5000/test/app:v1',
  `          env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
          readinessProbe: {exec: {command: [/app/ready.sh, --quick]}}
`,
);

/** An agent with the lab Deployment's host-pull policy and the pod's requests, then its probe exec. */
async function lab(): Promise<{ agent: AgentSession; reqs: AgentRequest[] }> {
  const s = await labSession('host-pull', YAML, POD, 'web');
  const app = s.reqs.find(isContainer('container'))![1] as Req;
  // kubelet puts the container's own env after HOSTNAME, before the service links (cri-containerd
  // WithEnv order; the recorded cm1 request shows CONFIG_MAP_VALUE1 there).
  (app['OCI']['Process']['Env'] as string[]).splice(3, 0, `POD_NAME=${POD}`);
  const exec = execProcess('host-pull', POD, ['/app/ready.sh', '--quick']);
  exec['process']['Env'] = [...app['OCI']['Process']['Env']];
  return { agent: s.agent, reqs: [...s.reqs, ['ExecProcessRequest', exec]] };
}

for (const tc of tamperings) {
  test(`denied: ${tc.name}`, async () => {
    const { agent, reqs } = await lab();
    const [type, input] = replayUntil(agent, reqs, tc.at);
    assert.equal(wouldAllow(agent, type, input), true, 'the untampered request must be allowed');
    const bad = clone(input) as Req;
    tc.change(bad);
    assert.equal(wouldAllow(agent, type, bad), false);
  });
}

test('a second pause container for the same sandbox is denied', async () => {
  const { agent, reqs } = await lab();
  replayUntil(agent, reqs, isContainer('container'));
  const first = reqs.find(isContainer('sandbox'))!;
  assert.equal(wouldAllow(agent, first[0], first[1]), false);
});

test("a container of one pod is denied by another pod's policy", async () => {
  const { agent, reqs } = await lab();
  replayUntil(agent, reqs, isContainer('sandbox'));
  // the pause container of another Deployment's pod (api-…) in the same namespace
  const foreign = pauseContainer('host-pull', 'api-5d8f7c9b4-x7k2p');
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', foreign), false);
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', pauseContainer('host-pull', POD)), true);
});

test('network, stream and other request types follow request_defaults and the defaults', async () => {
  const { agent } = await lab();
  const iface = updateInterface();
  assert.equal(wouldAllow(agent, 'UpdateInterfaceRequest', iface), true);
  const noArp = clone(iface);
  noArp['interface']['raw_flags'] = 128; // IFF_NOARP host interface
  assert.equal(wouldAllow(agent, 'UpdateInterfaceRequest', noArp), true, 'IFF_NOARP');
  for (const change of [
    (i: Req) => (i['interface']['name'] = 'lo'),
    // raw_flags: only IFF_NOARP (128) may be set (settings allow_raw_flags; runtime network.go)
    (i: Req) => (i['interface']['raw_flags'] = 64),
    (i: Req) => (i['interface']['raw_flags'] = 129),
    (i: Req) => (i['interface']['hwAddr'] = '00:00:00:00:00:00'),
    (i: Req) => (i['interface']['IPAddresses'][0]['address'] = '127.0.0.2'),
  ]) {
    const bad = clone(iface);
    change(bad);
    assert.equal(wouldAllow(agent, 'UpdateInterfaceRequest', bad), false, JSON.stringify(bad));
  }
  const arp = (state: number, flags: number, device = 'eth0') => ({
    neighbors: {
      ARPNeighbors: [
        {
          toIPAddress: { family: 0, address: '10.244.0.1', mask: '' },
          device,
          lladdr: 'aa:bb:cc:dd:ee:ff',
          state,
          flags,
        },
      ],
    },
  });
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(128, 0)), true);
  // The runtime adds neighbours as NUD_REACHABLE (2) too (runtime network_linux.go; genpolicy
  // testdata addarpneighbors "allowed state: reachable"); other states and flags are refused.
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(2, 0)), true);
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(128, 8)), true);
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(0, 0)), false);
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(4, 0)), false);
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(128, 1)), false);
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(128, 5)), false);
  assert.equal(wouldAllow(agent, 'AddARPNeighborsRequest', arp(128, 0, 'lo')), false);
  const noDevice = arp(128, 0) as Req;
  delete noDevice['neighbors']['ARPNeighbors'][0]['device'];
  assert.equal(
    wouldAllow(agent, 'AddARPNeighborsRequest', noDevice),
    false,
    'neighbour without a device field',
  );
  assert.equal(wouldAllow(agent, 'UpdateEphemeralMountsRequest', { storages: [] }), true);
  assert.equal(
    wouldAllow(agent, 'UpdateEphemeralMountsRequest', {
      storages: [{ driver: 'ephemeral', source: 'tmpfs', mount_point: '/etc' }],
    }),
    false,
  );
  assert.equal(wouldAllow(agent, 'ReadStreamRequest', { container_id: 'x', exec_id: 'x', len: 10 }), true);
  assert.equal(
    wouldAllow(agent, 'WriteStreamRequest', { container_id: 'x', exec_id: 'x', data: 'aGk=' }),
    false,
  );
  assert.equal(wouldAllow(agent, 'CloseStdinRequest', { container_id: 'x', exec_id: 'x' }), false);
  assert.equal(
    wouldAllow(agent, 'SetPolicyRequest', {
      policy: 'package agent_policy\ndefault CreateContainerRequest := true',
    }),
    false,
  );
  assert.equal(wouldAllow(agent, 'PullImageRequest', { image: 'evil' }), false);
  assert.equal(wouldAllow(agent, 'GuestDetailsRequest', { mem_block_size: true }), true);
});

test('RemoveContainer forgets the container: its id cannot exec afterwards', async () => {
  const { agent, reqs } = await lab();
  const exec = replayUntil(agent, reqs, isType('ExecProcessRequest'));
  assert.equal(wouldAllow(agent, exec[0], exec[1]), true);
  assert.equal(
    allows(agent, 'RemoveContainerRequest', { container_id: (exec[1] as Req)['container_id'], timeout: 0 }),
    true,
  );
  assert.equal(wouldAllow(agent, exec[0], exec[1]), false);
});

test('Kubernetes service variables are allowed for IPv4 and IPv6 services, other variables are not', async () => {
  const { agent, reqs } = await lab();
  const [type, input] = replayUntil(agent, reqs, isContainer('container'));
  const withEnv = (extra: string[]) => {
    const i = clone(input) as Req;
    i['OCI']['Process']['Env'].push(...extra);
    return wouldAllow(agent, type, i);
  };
  assert.equal(
    withEnv([
      'WEB_SERVICE_HOST=fd00::12',
      'WEB_PORT=tcp://[fd00::12]:80',
      'WEB_PORT_80_TCP_ADDR=fd00::12',
      'WEB_SERVICE_PORT_HTTP_ALT=8080',
    ]),
    true,
  );
  assert.equal(withEnv(['WEB_SERVICE_HOST=10.0.0.12', 'WEB_PORT_53_UDP=udp://10.0.0.12:53']), true);
  assert.equal(withEnv(['WEB_SERVICE_HOST=evil.example']), false);
  assert.equal(withEnv(['LD_PRELOAD=/x.so']), false);
  assert.equal(withEnv(['web_service_host=10.0.0.1']), false);
});

// The pod identity (sandbox name, namespace, sandbox id) is fixed by the first container admitted,
// pause or app, as genpolicy's suite expects (createcontainer/env_vars#0 and others start with an app
// container); every later container must agree with it.
test('an app container first fixes the pod identity; later containers must agree with it', async () => {
  const { agent, reqs } = await lab();
  replayUntil(agent, reqs, isContainer('sandbox'));
  const app = reqs.find(isContainer('container'))![1] as Req;
  const pause = reqs.find(isContainer('sandbox'))![1] as Req;
  const anno = (r: Req, key: string, value: string): Req => {
    const c = clone(r);
    c['OCI']['Annotations'][`io.kubernetes.cri.${key}`] = value;
    return c;
  };
  // the first container must still be a container of this pod
  assert.equal(
    wouldAllow(agent, 'CreateContainerRequest', anno(app, 'sandbox-name', 'api-5d8f7c9b4-x7k2p')),
    false,
  );
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', anno(app, 'sandbox-namespace', 'default')), false);
  assert.equal(allows(agent, 'CreateContainerRequest', app), true, 'app container first');
  const state = pstate(agent);
  assert.deepEqual(
    [state['sandbox_name'], state['namespace'], state['sandbox_id']],
    [POD, NS, SANDBOX],
    'identity recorded from the app container',
  );
  // the pause container afterwards: only with the recorded identity
  assert.equal(
    wouldAllow(agent, 'CreateContainerRequest', anno(pause, 'sandbox-name', `${POD.slice(0, -1)}q`)),
    false,
  );
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', anno(pause, 'sandbox-id', 'e'.repeat(64))), false);
  assert.equal(
    wouldAllow(agent, 'CreateContainerRequest', anno(pause, 'sandbox-namespace', 'default')),
    false,
  );
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', app), false, 'the same container id twice');
  assert.equal(allows(agent, 'CreateContainerRequest', pause), true, 'pause container second');
});

// A pause container whose id is not the sandbox id (genpolicy suite network_namespace, runas):
// allowed, since its paths are checked against its own id; the sandbox id it names is recorded and
// binds every later container.
test('a pause container with an id other than the sandbox id: its own paths, the recorded sandbox id', async () => {
  const { agent, reqs } = await lab();
  replayUntil(agent, reqs, isContainer('sandbox'));
  const other = 'e'.repeat(64);
  const pause = JSON.parse(
    JSON.stringify(reqs.find(isContainer('sandbox'))![1]).replaceAll(SANDBOX, other),
  ) as Req;
  pause['OCI']['Annotations']['io.kubernetes.cri.sandbox-id'] = SANDBOX;
  // its root and files must be those of its own id, not of the sandbox id it names
  const misplaced = clone(pause);
  misplaced['OCI']['Root']['Path'] = `${CPATH}/${SANDBOX}`;
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', misplaced), false, 'root of another id');
  const foreignFile = clone(pause);
  foreignFile['OCI']['Mounts'].at(-1)['source'] = `${CPATH}/${APP_ID}-fcc2557fcee4b4da-resolv.conf`;
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', foreignFile), false, "another container's file");
  assert.equal(allows(agent, 'CreateContainerRequest', pause), true);
  const app = reqs.find(isContainer('container'))![1] as Req;
  const otherSandbox = clone(app);
  otherSandbox['OCI']['Annotations']['io.kubernetes.cri.sandbox-id'] = other;
  assert.equal(
    wouldAllow(agent, 'CreateContainerRequest', otherSandbox),
    false,
    'app naming another sandbox id',
  );
  assert.equal(wouldAllow(agent, 'CreateContainerRequest', app), true);
});

// generateName: Kubernetes appends 5 characters; any non-empty [a-z0-9] suffix is accepted (genpolicy
// suite createcontainer/generate_name has 3), the prefix still binds the pod.
test('generateName pods: the prefix and a non-empty [a-z0-9] suffix', async () => {
  const yaml = `apiVersion: v1
kind: Pod
metadata: {generateName: web-, namespace: ${NS}}
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: app
      image: localhost:5000/test/app:v1
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, emptyDir: {}}]
`;
  for (const [pod, want] of [
    ['web-x7k2p', true],
    ['web-abc', true],
    ['web-a', true],
    ['web-', false],
    ['web-ab-cd', false],
    ['web-ABC', false],
    ['api-x7k2p', false],
    ['xweb-x7k2p', false],
  ] as const) {
    const s = await labSession('host-pull', yaml, pod, 'web-');
    replayUntil(s.agent, s.reqs, isContainer('sandbox'));
    const pause = s.reqs.find(isContainer('sandbox'))![1];
    assert.equal(wouldAllow(s.agent, 'CreateContainerRequest', pause), want, pod);
  }
});

// The agent state across the pod's life, on the in-repo requests (replay.test.ts does the same on the
// recorded logs where ../shared exists): one sandbox, each container id once.
for (const flavour of ['host-pull', 'guest-pull'] as const) {
  test(`${flavour}: CreateSandbox is allowed once; a container id is admitted once`, async () => {
    const image = flavour === 'guest-pull' ? PINNED : 'localhost:5000/test/app:v1';
    const s = await labSession(flavour, YAML.replace('localhost:5000/test/app:v1', image), POD, 'web');
    const sandbox = s.reqs.find(isType('CreateSandboxRequest'))!;
    replayUntil(s.agent, s.reqs, isContainer('sandbox'));
    assert.equal(wouldAllow(s.agent, sandbox[0], sandbox[1]), false, 'CreateSandbox twice');
    const app = s.reqs.find(isContainer('container'))!;
    (app[1] as Req)['OCI']['Process']['Env'].splice(3, 0, `POD_NAME=${POD}`);
    for (const [type, input] of s.reqs.slice(s.reqs.indexOf(sandbox) + 1))
      assert.ok(allows(s.agent, type, input), `${type} denied`);
    assert.equal(wouldAllow(s.agent, sandbox[0], sandbox[1]), false, 'CreateSandbox after the pod ran');
    for (const c of s.reqs.filter(isType('CreateContainerRequest')))
      assert.equal(wouldAllow(s.agent, c[0], c[1]), false, `${String(c[1]['container_id'])} again`);
  });
}
