// Every request of the Kata agent API gets a verdict from our rules: the agent queries
// data.agent_policy.<protobuf message name> (rpc.rs `is_allowed`), and a rule that is undefined is an
// error there. The table is the decision for a request carrying nothing (`{}`) on a fresh agent
// (data {"pstate": {}}); requests that need checking are refused, harmless ones are allowed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replay } from '../policyeval/index.js';
import { agentFor } from '../../test/helpers/policy/harness.js';
import { labDeployment, labImage, labSession } from '../../test/helpers/policy/lab-requests.js';
import { recordedPolicies } from '../../test/helpers/policy/recorded.js';

/** Message name → verdict for an empty request. */
const API: Record<string, boolean> = {
  // containers and processes
  CreateContainerRequest: false,
  StartContainerRequest: true,
  RemoveContainerRequest: true,
  ExecProcessRequest: false,
  SignalProcessRequest: true,
  WaitProcessRequest: true,
  UpdateContainerRequest: false,
  UpdateEphemeralMountsRequest: true, // nothing to mount
  StatsContainerRequest: true,
  PauseContainerRequest: false,
  ResumeContainerRequest: false,
  RemoveStaleVirtiofsShareMountsRequest: true,
  // stdio (WriteStdin / ReadStdout+ReadStderr / CloseStdin / TtyWinResize)
  WriteStreamRequest: false,
  ReadStreamRequest: true,
  CloseStdinRequest: false,
  TtyWinResizeRequest: true,
  // networking
  UpdateInterfaceRequest: false,
  UpdateRoutesRequest: false,
  ListInterfacesRequest: false,
  ListRoutesRequest: false,
  AddARPNeighborsRequest: false,
  GetIPTablesRequest: false,
  SetIPTablesRequest: false,
  // observability, memory agent
  GetMetricsRequest: false,
  MemAgentMemcgConfig: false,
  MemAgentCompactConfig: false,
  // sandbox and guest
  CreateSandboxRequest: false,
  DestroySandboxRequest: true,
  OnlineCPUMemRequest: true,
  ReseedRandomDevRequest: false,
  GuestDetailsRequest: true,
  MemHotplugByProbeRequest: false,
  SetGuestDateTimeRequest: false,
  CopyFileRequest: false,
  GetOOMEventRequest: true,
  AddSwapRequest: false,
  AddSwapPathRequest: false,
  // rpc GetVolumeStats(VolumeStatsRequest): it opens a host-given guest path; denied upstream since 4.0
  VolumeStatsRequest: false,
  // rpc GetDiagnosticData (Kata 4.x agent.proto): false unless request_defaults enables it
  GetDiagnosticDataRequest: false,
  ResizeVolumeRequest: false,
  SetPolicyRequest: false,
  // image pull through the agent, tracing (agent versions that have them)
  PullImageRequest: false,
  StartTracingRequest: false,
  StopTracingRequest: false,
};

function shapeProblem(result: unknown): string | undefined {
  if (typeof result === 'boolean') return undefined;
  if (typeof result !== 'object' || result === null || Array.isArray(result))
    return `not a boolean or object`;
  const r = result as Record<string, unknown>;
  if (typeof r['allowed'] !== 'boolean') return `"allowed" is not a boolean`;
  if (r['ops'] !== undefined && !Array.isArray(r['ops'])) return `"ops" is not an array`;
  return undefined;
}

test('every agent API request has a defined verdict of the shape the agent reads', async () => {
  const policy = (await recordedPolicies()).get('cm1')!;
  const agent = await agentFor(policy.policyText);
  const got: Record<string, boolean> = {};
  for (const request of Object.keys(API)) {
    const v = agent.probe(request, {});
    assert.notEqual(v.reason, 'undefined', `${request}: no rule, the agent would fail the request`);
    assert.equal(shapeProblem(v.result), undefined, `${request}: ${shapeProblem(v.result)}`);
    got[request] = v.allowed;
  }
  assert.deepEqual(got, API);
  assert.deepEqual(agent.state(), { pstate: {} }, 'refused requests change no state');
});

test('verdicts stay defined and well-shaped while a pod runs (after the lab pod requests)', async () => {
  const s = await labSession('host-pull', labDeployment(labImage('host-pull')), 'web-5d8f7c9b4-x7k2p', 'web');
  const agent = s.agent;
  const requests = s.reqs.map(([type, input], i) => ({ type, input, line: i + 1 }));
  for (const e of replay(agent, requests)) {
    assert.equal(shapeProblem(e.verdict.result), undefined, `${e.verdict.request} line ${e.line}`);
    if (e.verdict.request === 'AllowRequestsFailingPolicy') continue;
    if (typeof e.verdict.result === 'object') {
      assert.ok(
        Array.isArray((e.verdict.result as Record<string, unknown>)['ops']),
        'allowed results carry ops',
      );
    }
  }
  for (const request of Object.keys(API)) {
    const v = agent.probe(request, {});
    assert.ok(v.reason === undefined || v.reason === 'false', `${request}: ${v.reason} ${v.error ?? ''}`);
  }
  // Removing a running container answers with the op that forgets it in the agent state.
  const appId = (
    requests.filter((r) => r.type === 'CreateContainerRequest')[1]!.input as { container_id: string }
  ).container_id;
  const removal = agent.probe('RemoveContainerRequest', { container_id: appId, timeout: 0 });
  assert.deepEqual(removal.result, {
    allowed: true,
    ops: [{ op: 'remove', path: `/pstate/containers/${appId}` }],
  });
  assert.equal(removal.appliedOps, 1);
});
