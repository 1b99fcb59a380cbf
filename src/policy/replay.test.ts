// Regression tests for "real pods must start": our generated policies for the recorded pods, judged
// on the REAL recorded agent request logs (../shared/agent-requests) by policyeval's replay — the
// code behind `contrast policy eval --replay`, whose AgentSession starts from the agent's initial
// data {"pstate": {}} exactly like the Kata agent. A rule that only works from some other starting
// state (e.g. `not data.pstate`, which is false for {}) fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TestContext } from 'node:test';
import { runCli } from '../../test/helpers/cli.js';
import { sharedPath } from '../../test/helpers/shared.js';
import { findWorkloads, parseKubeFile } from '../kube/index.js';
import {
  AgentSession,
  loadRequestLog,
  replay,
  type RecordedRequest,
  type ReplayEntry,
} from '../policyeval/index.js';
import { generatePolicies, loadPolicySettings, type WorkloadPolicy } from './index.js';
import { RECORDED_PAUSE, fixtureImage, imageMap } from '../../test/helpers/policy/fixtures.js';
import { RECORDED_LOGS, recordedPolicies } from '../../test/helpers/policy/recorded.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const dir = mkdtempSync(join(tmpdir(), 'policy-replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const policies = recordedPolicies();

async function policyOf(pod: string): Promise<WorkloadPolicy> {
  const p = (await policies).get(pod);
  assert.ok(p, `no generated policy for ${pod}`);
  return p;
}

function session(policy: WorkloadPolicy): Promise<AgentSession> {
  return AgentSession.create({
    text: policy.policyText,
    name: 'policy.rego',
    origin: `generated policy of ${policy.workload.name}`,
  });
}

function logOf(t: TestContext, pod: string): RecordedRequest[] | undefined {
  const path = sharedPath(t, join('agent-requests', RECORDED_LOGS[pod]!));
  return path ? loadRequestLog(path) : undefined;
}

/** Requests the agent refused, or whose verdict came only from AllowRequestsFailingPolicy. */
function refusals(entries: ReplayEntry[]): string[] {
  return entries
    .filter((e) => e.verdict.request !== 'AllowRequestsFailingPolicy')
    .filter((e) => !e.verdict.allowed || !e.verdict.policyAllowed)
    .map(
      (e) =>
        `${e.verdict.request} (line ${e.line}): ${e.verdict.reason}${e.verdict.error ? ` ${e.verdict.error}` : ''}`,
    );
}

const isPause = (r: RecordedRequest) =>
  r.type === 'CreateContainerRequest' &&
  (r.input as Obj)['OCI']['Annotations']['io.kubernetes.cri.container-type'] === 'sandbox';
const isApp = (r: RecordedRequest) =>
  r.type === 'CreateContainerRequest' &&
  (r.input as Obj)['OCI']['Annotations']['io.kubernetes.cri.container-type'] === 'container';

for (const pod of Object.keys(RECORDED_LOGS)) {
  test(`${pod}: its recorded log replayed from the agent's initial state is allowed request by request`, async (t) => {
    const requests = logOf(t, pod);
    if (!requests) return;
    const agent = await session(await policyOf(pod));
    assert.deepEqual(agent.state(), { pstate: {} }, "the agent's initial data document");
    const entries = replay(agent, requests);

    // The bookkeeping line: the policy's AllowRequestsFailingPolicy setting, off.
    assert.equal(requests[0]!.type, 'AllowRequestsFailingPolicy');
    assert.equal(entries[0]!.verdict.result, false);
    assert.equal(agent.allowFailures, false);
    assert.deepEqual(refusals(entries), []);

    const creates = requests.filter((r) => r.type === 'CreateContainerRequest');
    const sandboxId = (creates[0]!.input as Obj)['container_id'] as string;
    const state = (agent.state() as Obj)['pstate'] as Obj;
    assert.equal(state['sandbox_created'], true);
    assert.equal(state['sandbox_name'], pod);
    assert.equal(state['sandbox_id'], sandboxId);
    assert.deepEqual(
      Object.keys(state['containers'] as Obj).sort(),
      creates.map((r) => (r.input as Obj)['container_id'] as string).sort(),
    );
  });

  test(`${pod}: the same replay from a data document without pstate ends in the same state`, async (t) => {
    const requests = logOf(t, pod);
    if (!requests) return;
    const policy = await policyOf(pod);
    const seeded = await session(policy);
    replay(seeded, requests);
    const bare = await session(policy);
    bare.engine.setData({});
    assert.deepEqual(refusals(replay(bare, requests)), []);
    assert.deepEqual(bare.state(), seeded.state());
  });

  test(`${pod}: tampered replays of its recorded log are refused`, async (t) => {
    const requests = logOf(t, pod);
    if (!requests) return;
    const policy = await policyOf(pod);
    const sandbox = requests.find((r) => r.type === 'CreateSandboxRequest')!;
    const sandboxAt = requests.indexOf(sandbox);

    // A second CreateSandbox, before any container exists and after the pod ran.
    const early = await session(policy);
    replay(early, requests.slice(0, sandboxAt + 1));
    assert.equal(early.probe(sandbox.type, sandbox.input).allowed, false, 'CreateSandbox twice');
    const full = await session(policy);
    replay(full, requests);
    assert.equal(full.probe(sandbox.type, sandbox.input).allowed, false, 'CreateSandbox after the pod ran');

    // Each container created again (same id) is refused.
    for (const c of requests.filter((r) => r.type === 'CreateContainerRequest')) {
      assert.equal(full.probe(c.type, c.input).allowed, false, `${(c.input as Obj)['container_id']} again`);
    }

    // Without its pause container first, the app container fixes the pod identity (as in genpolicy's
    // suite); the pause container afterwards is admitted only with that identity.
    const noPause = await session(policy);
    const entries = replay(
      noPause,
      requests.filter((r) => !isPause(r)),
    );
    const app = entries.find((e) => e.verdict.request === 'CreateContainerRequest')!;
    assert.equal(app.verdict.allowed, true, 'app container before the pause container');
    const pause = requests.find(isPause)!;
    const otherPod = structuredClone(pause.input) as Obj;
    ((otherPod['OCI'] as Obj)['Annotations'] as Obj)['io.kubernetes.cri.sandbox-name'] = 'another-pod';
    assert.equal(noPause.probe(pause.type, otherPod).allowed, false, 'pause container of another pod');
    const otherNs = structuredClone(pause.input) as Obj;
    ((otherNs['OCI'] as Obj)['Annotations'] as Obj)['io.kubernetes.cri.sandbox-namespace'] = 'elsewhere';
    assert.equal(noPause.probe(pause.type, otherNs).allowed, false, 'pause container in another namespace');
    assert.equal(noPause.probe(pause.type, pause.input).allowed, true, "the pod's own pause container");

    // The app container, once removed, can no longer be exec'd into.
    const exec = requests.find((r) => r.type === 'ExecProcessRequest');
    if (exec) {
      const appId = (requests.find(isApp)!.input as Obj)['container_id'] as string;
      assert.equal((exec.input as Obj)['container_id'], appId);
      assert.equal(full.probe(exec.type, exec.input).allowed, true, 'exec before RemoveContainer');
      const removed = full.evaluate('RemoveContainerRequest', { container_id: appId, timeout: 0 });
      assert.equal(removed.allowed, true);
      assert.equal(removed.appliedOps, 1);
      assert.equal(full.probe(exec.type, exec.input).allowed, false, 'exec after RemoveContainer');
    }

    // Another pod's log on this pod's policy: its pause container is refused.
    const others = Object.keys(RECORDED_LOGS).filter((p) => p !== pod);
    const foreign = logOf(t, others[0]!);
    if (!foreign) return;
    const mixed = await session(policy);
    const foreignPause = replay(mixed, foreign).find((e) => e.verdict.request === 'CreateContainerRequest')!;
    assert.equal(foreignPause.verdict.allowed, false, `${others[0]} pause container on ${pod}'s policy`);
  });
}

test('contrast policy eval --replay: the generated exec-test policy allows pod-exec.txt', async (t) => {
  const log = sharedPath(t, join('agent-requests', 'pod-exec.txt'));
  if (!log) return;
  const file = join(dir, 'exec-test.rego');
  writeFileSync(file, (await policyOf('exec-test')).policyText);
  const r = await runCli(['policy', 'eval', '--policy', file, '--replay', log]);
  assert.equal(r.code, 0, r.stderr);
  const n = loadRequestLog(log).length - 1;
  assert.match(r.stderr, new RegExp(`\\b${n} requests: ${n} allowed, 0 refused`));
});

// k8s-policy-pod.txt is a pod whose container root filesystems are shared from the host
// (virtio-fs, no layer storages): not integrity-protected, so a policy of ours, which pins every
// layer, must refuse its containers while letting the rest of the sandbox set-up through.
test('k8s-policy-pod: containers with host-shared, unmeasured root filesystems are refused', async (t) => {
  const path = sharedPath(t, join('agent-requests', 'k8s-policy-pod.txt'));
  if (!path) return;
  const image = 'quay.io/prometheus/busybox:latest';
  const yaml = `apiVersion: v1
kind: Pod
metadata: {name: policy-pod, namespace: kata-containers-k8s-tests}
spec:
  runtimeClassName: kata-cc
  containers:
    - name: busybox
      image: ${image}
      command: [sh]
      env: [{name: KUBE_CONFIG_1, value: value-1}, {name: KUBE_CONFIG_2, value: value-2}]
`;
  const f = parseKubeFile('policy-pod.yaml', yaml);
  const settings = await loadPolicySettings({ flavour: 'host-pull' });
  const busybox = fixtureImage({
    ref: image,
    layers: [{ verityRoot: '4'.repeat(64) }],
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
  });
  const images = imageMap([settings.cluster_config.pause_container_image, RECORDED_PAUSE], [image, busybox]);
  const [policy] = await generatePolicies(
    [f],
    findWorkloads([f], { runtimeClassPrefix: 'kata-cc' }),
    images,
    settings,
    {
      flavour: 'host-pull',
    },
  );
  const agent = await session(policy!);
  const entries = replay(agent, loadRequestLog(path));
  assert.deepEqual(
    refusals(entries).map((s) => s.split(' ')[0]),
    ['CreateContainerRequest', 'CreateContainerRequest'],
  );
  assert.equal(((agent.state() as Obj)['pstate'] as Obj)['containers'], undefined);
});
