// Replay of the recorded agent request logs on one engine with the agent's state semantics, and
// the --explain output. Uses the real Rego engine (src/rego) and the test policy in
// test/policy-eval/agent-test.rego, with policy_data derived from the recorded pod at test time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import {
  AgentSession,
  formatExplanation,
  replay,
  type PolicySource,
  type ReplayEntry,
} from '../src/policyeval/index.js';
import { everyFailures } from '../src/policyeval/explain/probe.js';
import { runCli } from './helpers/cli.js';
import { sharedPath } from './helpers/shared.js';
import {
  jsonLines,
  lineOf,
  policyDataFromLog,
  policyText,
  readLog,
  rulesFile,
} from './policy-eval/fixture.js';

type Obj = Record<string, unknown>;

const dir = mkdtempSync(join(tmpdir(), 'policy-eval-replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Exec commands the test policy allows per container (by container name); the others are refused.
const execAllowed: Record<string, string[][]> = {
  busybox: [
    ['echo', 'Ready ${POD_IP}!'],
    ['echo', '${ISTIO_META_APP_CONTAINERS}'],
    ['echo', 'hello from postStart hook'],
  ],
};

function source(text: string, name = rulesFile): PolicySource {
  return { text, name, origin: name };
}

function logPath(t: TestContext, name: string): string | undefined {
  return sharedPath(t, join('agent-requests', name));
}

const logs = ['k8s-policy-pod.txt', 'pod-cm1.txt', 'pod-exec.txt', 'pod-lifecycle.txt'];

describe('replay of recorded agent request logs', () => {
  for (const name of logs) {
    it(`judges ${name} request by request, keeping the agent state`, async (t) => {
      const p = logPath(t, name);
      if (!p) return;
      const requests = readLog(p);
      const session = await AgentSession.create(source(policyText(policyDataFromLog(requests, execAllowed))));
      const entries = replay(session, requests);
      assert.equal(entries.length, requests.length);
      entries.forEach((e, i) => assert.equal(e.verdict.request, requests[i]!.type));

      for (const [i, e] of entries.entries()) {
        const v = e.verdict;
        const input = requests[i]!.input as Obj;
        switch (v.request) {
          case 'AllowRequestsFailingPolicy':
          case 'UpdateEphemeralMountsRequest':
            assert.equal(v.result, false);
            assert.equal(v.allowed, false);
            break;
          case 'GetOOMEventRequest':
            // no rule at all: undefined, refused by the agent
            assert.equal(v.result, null);
            assert.equal(v.reason, 'undefined');
            assert.equal(v.allowed, false);
            break;
          case 'CreateSandboxRequest':
          case 'CreateContainerRequest':
            assert.equal(v.allowed, true, `${v.request} at line ${e.line}`);
            assert.equal((v.result as Obj)['allowed'], true);
            assert.ok(v.appliedOps > 0);
            break;
          case 'CopyFileRequest':
            assert.equal(v.allowed, !String(input['path']).includes('/..'), String(input['path']));
            break;
          case 'ExecProcessRequest': {
            const args = JSON.stringify((input['process'] as Obj)['Args']);
            assert.equal(
              v.allowed,
              execAllowed['busybox']!.some((c) => JSON.stringify(c) === args),
              args,
            );
            break;
          }
          default:
            assert.equal(v.allowed, true, `${v.request} at line ${e.line}`);
        }
      }

      // The state the rules wrote: sandbox name, and each container id mapped to its policy index.
      const creates = requests.filter((r) => r.type === 'CreateContainerRequest');
      const pstate = (session.state() as Obj)['pstate'] as Obj;
      const sandbox = requests.find((r) => r.type === 'CreateSandboxRequest')!.input as Obj;
      assert.equal(pstate['sandbox_name'], sandbox['hostname']);
      assert.deepEqual(
        pstate['containers'],
        Object.fromEntries(creates.map((r, i) => [(r.input as Obj)['container_id'], i])),
      );
    });
  }

  it('carries state between requests: exec is refused when its container was never created', async (t) => {
    const p = logPath(t, 'pod-exec.txt');
    if (!p) return;
    const requests = readLog(p);
    const policy = source(policyText(policyDataFromLog(requests, execAllowed)));
    const allowedExecs = async (list: typeof requests) =>
      replay(await AgentSession.create(policy), list).filter(
        (e) => e.verdict.request === 'ExecProcessRequest' && e.verdict.allowed,
      ).length;

    assert.ok((await allowedExecs(requests)) > 0, 'with the CreateContainerRequests, allowed execs exist');
    const withoutCreates = requests.filter((r) => r.type !== 'CreateContainerRequest');
    assert.equal(
      await allowedExecs(withoutCreates),
      0,
      'without them, the state has no container and every exec is refused',
    );

    // and CreateContainerRequest itself depends on the sandbox name recorded by CreateSandboxRequest
    const session = await AgentSession.create(policy);
    const entries = replay(
      session,
      requests.filter((r) => r.type !== 'CreateSandboxRequest'),
    );
    for (const e of entries.filter((x) => x.verdict.request === 'CreateContainerRequest')) {
      assert.equal(e.verdict.allowed, false);
    }
  });

  it('applies ops only when allowed, and refuses a request whose ops do not apply, leaving the state as it was', async () => {
    const rules = `package agent_policy
import future.keywords.if
default AllowRequestsFailingPolicy := false
AddRequest := {"allowed": true, "ops": [{"op": "add", "path": concat("/", ["", "pstate", input.key]), "value": input.value}]}
DenyWithOps := {"allowed": false, "ops": [{"op": "add", "path": "/pstate/denied", "value": true}]}
BadOps := {"allowed": true, "ops": [{"op": "add", "path": "/pstate/a", "value": 1}, {"op": "remove", "path": "/pstate/missing"}]}
ReadRequest if data.pstate[input.key] == input.value
NotAnAnswer := "yes"
`;
    const session = await AgentSession.create(source(rules, 'inline.rego'));
    assert.equal(session.evaluate('ReadRequest', { key: 'k', value: 1 }).allowed, false);
    assert.equal(session.evaluate('AddRequest', { key: 'k', value: 1 }).allowed, true);
    assert.equal(session.evaluate('ReadRequest', { key: 'k', value: 1 }).allowed, true);
    assert.equal(session.evaluate('DenyWithOps', {}).allowed, false);
    const bad = session.evaluate('BadOps', {});
    assert.equal(bad.allowed, false);
    assert.equal(bad.reason, 'error');
    assert.deepEqual(
      (session.state() as Obj)['pstate'],
      { k: 1 },
      'no ops of refused requests, none of a failed patch',
    );
    const odd = session.evaluate('NotAnAnswer', {});
    assert.equal(odd.allowed, false);
    assert.equal(odd.reason, 'invalid-result');
    assert.equal(session.evaluate('NoSuchRequest', {}).reason, 'undefined');
  });

  it('an allowed SetPolicyRequest replaces the policy and starts the state over, as set_policy does', async () => {
    const first = `package agent_policy
import future.keywords.if
default AllowRequestsFailingPolicy := false
SetPolicyRequest := true
NoteRequest := {"allowed": true, "ops": [{"op": "add", "path": "/pstate/note", "value": 1}]}
`;
    const second = `package agent_policy
import future.keywords.if
default AllowRequestsFailingPolicy := false
default SetPolicyRequest := false
ReadRequest if data.pstate == {}
`;
    const session = await AgentSession.create(source(first, 'first.rego'));
    const log = [
      { type: 'NoteRequest', input: {}, line: 1 },
      { type: 'SetPolicyRequest', input: { policy: second }, line: 2 },
      { type: 'ReadRequest', input: {}, line: 3 },
      { type: 'NoteRequest', input: {}, line: 4 },
      { type: 'SetPolicyRequest', input: { policy: first }, line: 5 },
    ];
    const verdicts = replay(session, log).map((e) => [e.verdict.request, e.verdict.allowed]);
    assert.deepEqual(verdicts, [
      ['NoteRequest', true],
      ['SetPolicyRequest', true],
      ['ReadRequest', true], // new engine: the note written under the first policy is gone
      ['NoteRequest', false], // the second policy has no such rule
      ['SetPolicyRequest', false], // and refuses a further policy change
    ]);
  });

  it('AllowRequestsFailingPolicy := true turns every refusal into an allow, as in the agent', async () => {
    const rules = `package agent_policy
default AllowRequestsFailingPolicy := true
default CreateContainerRequest := false
BadOps := {"allowed": true, "ops": [{"op": "remove", "path": "/pstate/missing"}]}
`;
    const session = await AgentSession.create(source(rules, 'debug.rego'));
    assert.equal(session.allowFailures, true);
    const v = session.evaluate('CreateContainerRequest', {});
    assert.equal(v.policyAllowed, false);
    assert.equal(v.allowed, true);
    assert.equal(session.evaluate('GetOOMEventRequest', {}).allowed, true);
    // errors are not covered by the escape hatch: the agent's allow_request returns them as errors
    assert.equal(session.evaluate('BadOps', {}).allowed, false);
  });
});

/**
 * Replays the recorded k8s-policy-pod log, with explanations, against a policy made from it, after
 * `tamper` changed the OCI process of its busybox CreateContainerRequest. Undefined (skipped) without the log.
 */
async function replayTamperedBusybox(
  t: TestContext,
  tamper: (process: Obj) => void,
): Promise<ReplayEntry[] | undefined> {
  const p = logPath(t, 'k8s-policy-pod.txt');
  if (!p) return undefined;
  const requests = readLog(p);
  const session = await AgentSession.create(source(policyText(policyDataFromLog(requests))));
  const tampered = requests.map((r) => structuredClone(r));
  const busybox = tampered.filter((r) => r.type === 'CreateContainerRequest')[1]!;
  tamper(((busybox.input as Obj)['OCI'] as Obj)['Process'] as Obj);
  return replay(session, tampered, { explain: true });
}

describe('explain', () => {
  it('names the failing expression with file and line, and the container field that differs', async (t) => {
    const entries = await replayTamperedBusybox(t, (proc) => {
      proc['Args'] = ['sh', '-c', 'wget evil'];
    });
    if (!entries) return;
    const denied = entries.find((e) => e.verdict.request === 'CreateContainerRequest' && !e.verdict.allowed);
    assert.ok(denied?.explanation, 'the tampered CreateContainerRequest is refused and explained');
    const text = formatExplanation(denied.explanation).join('\n');
    const argsLine = lineOf('p_oci.Process.Args == i_oci.Process.Args');
    assert.match(text, new RegExp(`agent-test\\.rego:${argsLine}\\b`), text);
    assert.match(text, /closest policy container: "busybox"/);
    assert.match(text, /OCI\.Process\.Args/);
    assert.match(text, /wget evil/);
    // the pause container and the untampered requests are not explained
    assert.equal(
      entries.filter((e) => e.explanation && e.verdict.request === 'CreateContainerRequest').length,
      1,
    );
  });
});

describe('explain of a failed every', () => {
  it('names the element the body fails for, with the nested failures about that element', async (t) => {
    const entries = await replayTamperedBusybox(t, (proc) => {
      proc['Env'] = [...(proc['Env'] as string[]), 'SECRET_MODE=1'];
    });
    if (!entries) return;
    const denied = entries.find((e) => e.explanation && e.verdict.request === 'CreateContainerRequest')!;
    const failures = denied.explanation!.failures;
    const every = failures.find((f) => f.text.startsWith('every env in'));
    assert.ok(every, JSON.stringify(failures.map((f) => f.text)));
    assert.equal(every.line, lineOf('every env in i_oci.Process.Env'));
    assert.deepEqual(every.failingElements, [{ value: 'SECRET_MODE=1' }]);
    // nested env_allowed failures are shown for the failing element, not for others
    for (const f of failures.filter((x) => x.rule.endsWith('env_allowed'))) {
      assert.equal(f.bindings['env'], 'SECRET_MODE=1');
    }
    const text = formatExplanation(denied.explanation!).join('\n');
    assert.match(text, /fails for "SECRET_MODE=1"/);
  });
});

describe('explain focuses on what failed', () => {
  it('leaves out failures of helper definitions whose call held, and shows operands and undefined refs', async () => {
    const rules = `package agent_policy
import future.keywords.if
import future.keywords.in

empty(x) if x == null
empty(x) if count(x) == 0

ExecProcessRequest if {
\tempty(input.process.Env)
\tidx := data.pstate.containers[input.container_id]
\tidx >= 0
}
`;
    const session = await AgentSession.create(source(rules, 'helpers.rego'));
    const entries = replay(
      session,
      [{ type: 'ExecProcessRequest', input: { container_id: 'c1', process: { Env: [] } }, line: 1 }],
      {
        explain: true,
      },
    );
    const x = entries[0]!.explanation!;
    assert.deepEqual(
      x.failures.map((f) => [f.rule, f.line]),
      [['data.agent_policy.ExecProcessRequest', 10]],
      'the failed `x == null` definition of empty() is not reported: empty([]) held',
    );
    const text = formatExplanation(x).join('\n');
    assert.match(text, /helpers\.rego:10:2/);
    assert.match(text, /input\.container_id = "c1"/);
    assert.match(text, /data\.pstate\.containers\[input\.container_id\] = undefined/);
  });
});

describe('explain probes leave the engine as it was', () => {
  it('a probe that does not compile does not break later evaluations', async () => {
    const rules = `package agent_policy
import future.keywords.every
import future.keywords.if
AllRequest if {
\tevery x in input.xs {
\t\tx > 1
\t}
}
`;
    const session = await AgentSession.create(source(rules, 'every.rego'));
    assert.deepEqual(everyFailures(session, 'every x in xs { x > 1 }', { xs: [1, 2] }, { xs: [0, 5] }), [
      { value: 0 },
    ]);
    assert.equal(everyFailures(session, 'every x in xs { nosuch_function(x) }', {}, { xs: [1] }), undefined);
    assert.equal(session.evaluate('AllRequest', { xs: [2, 3] }).allowed, true);
    assert.equal(session.evaluate('AllRequest', { xs: [0, 3] }).allowed, false);
  });
});

describe('contrast policy eval (CLI)', () => {
  it('--replay --json prints one object per request with result and prints', async (t) => {
    const p = logPath(t, 'k8s-policy-pod.txt');
    if (!p) return;
    const requests = readLog(p);
    const policyFile = join(dir, 'k8s-policy-pod.rego');
    writeFileSync(policyFile, policyText(policyDataFromLog(requests)));
    const r = await runCli(['policy', 'eval', '--policy', policyFile, '--replay', p, '--json']);
    assert.equal(r.code, 1, r.stderr); // GetOOMEvent and UpdateEphemeralMounts are refused
    const out = JSON.parse(r.stdout) as Array<{ request: string; result: unknown; prints: string[] }>;
    assert.equal(out.length, requests.length);
    assert.deepEqual(Object.keys(out[0]!), ['request', 'result', 'prints']);
    const creates = out.filter((o) => o.request === 'CreateContainerRequest');
    assert.equal(creates.length, 2);
    assert.deepEqual(
      creates.map((c) => c.prints),
      [
        ['CreateContainerRequest: matches policy container 0'],
        ['CreateContainerRequest: matches policy container 1'],
      ],
    );
    assert.equal((creates[0]!.result as Obj)['allowed'], true);
    assert.equal(out.find((o) => o.request === 'GetOOMEventRequest')!.result, null);
  });

  it('--replay prints ALLOW/DENY lines, --explain adds the reasons; JSON lines work as input', async (t) => {
    const p = logPath(t, 'pod-exec.txt');
    if (!p) return;
    const requests = readLog(p);
    const policyFile = join(dir, 'pod-exec.rego');
    writeFileSync(policyFile, policyText(policyDataFromLog(requests, execAllowed)));
    // plain JSON lines, from stdin
    const r = await runCli(['policy', 'eval', '--policy', policyFile, '--replay', '-', '--explain'], {
      input: jsonLines(requests),
    });
    assert.equal(r.code, 1);
    const lines = r.stdout.split('\n').filter((l) => /^\s*\d+\s+(ALLOW|DENY)/.test(l));
    assert.equal(lines.length, requests.length);
    assert.match(r.stdout, /DENY\s+ExecProcessRequest/);
    assert.match(r.stdout, /ALLOW\s+ExecProcessRequest/);
    assert.match(r.stdout, /ALLOW\s+CreateContainerRequest/);
    assert.match(r.stdout, /agent-test\.rego|pod-exec\.rego/);
    assert.match(r.stdout, /input\.process\.Args in p_container\.exec_commands/);
    // the values compared: the refused command and the commands the container allows
    assert.match(r.stdout, /input\.process\.Args = \["echo","\$\{ISTIO_META_NODE_NAME\} startup"\]/);
    assert.match(r.stdout, /p_container\.exec_commands = \[\["echo","Ready/);
  });

  it('takes the policy from an annotated YAML and evaluates --query with --input', async (t) => {
    const p = logPath(t, 'k8s-policy-pod.txt');
    if (!p) return;
    const requests = readLog(p);
    const text = policyText(policyDataFromLog(requests));
    const yaml = join(dir, 'pod.yaml');
    writeFileSync(
      yaml,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: policy-pod\n  annotations:\n    io.katacontainers.config.agent.policy: ${Buffer.from(text).toString('base64')}\nspec:\n  containers: []\n`,
    );
    const input = join(dir, 'copy.json');
    writeFileSync(input, JSON.stringify({ path: '/etc/passwd' }));
    const r = await runCli([
      'policy',
      'eval',
      '--policy',
      yaml,
      '--query',
      'data.agent_policy.CopyFileRequest',
      '--input',
      input,
      '--json',
    ]);
    assert.equal(r.code, 1, r.stderr); // a false result is a refusal (exit 1, like grep)
    assert.deepEqual(JSON.parse(r.stdout), { result: false, prints: [] });

    const q = await runCli([
      'policy',
      'eval',
      '--policy',
      yaml,
      '--query',
      'data.agent_policy.policy_data.request_defaults.CopyFileRequest',
      '--input',
      input,
    ]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal((JSON.parse(q.stdout) as string[]).length, 1);
  });

  it('--data is merged into the data document; a general query yields its bindings', async () => {
    const rules = join(dir, 'data.rego');
    writeFileSync(rules, 'package agent_policy\n\nallowed_user if input.user in data.users\n');
    const input = join(dir, 'user.json');
    writeFileSync(input, JSON.stringify({ user: 'bob' }));
    const base = ['policy', 'eval', '--policy', rules, '--input', input, '--json'];
    const yes = await runCli([
      ...base,
      '--query',
      'data.agent_policy.allowed_user',
      '--data',
      '{"users": ["alice", "bob"]}',
    ]);
    assert.equal(yes.code, 0, yes.stderr);
    assert.deepEqual(JSON.parse(yes.stdout), { result: true, prints: [] });
    const no = await runCli([
      ...base,
      '--query',
      'data.agent_policy.allowed_user',
      '--data',
      '{"users": []}',
    ]);
    assert.deepEqual(JSON.parse(no.stdout), { result: null, prints: [] });
    assert.equal(no.code, 1, 'an undefined result is a refusal');
    const q = await runCli([
      ...base,
      '--query',
      'some u in data.users; startswith(u, "a")',
      '--data',
      '{"users": ["alice", "bob", "anna"]}',
    ]);
    assert.equal(q.code, 0, q.stderr);
    const bindings = (JSON.parse(q.stdout) as { result: Array<{ bindings: { u: string } }> }).result.map(
      (r) => r.bindings.u,
    );
    assert.deepEqual(bindings.sort(), ['alice', 'anna']);
  });

  it('prints big integers exactly', async () => {
    const rules = join(dir, 'big.rego');
    writeFileSync(rules, 'package agent_policy\n\nbig := 12345678901234567890123 + 1\n');
    const input = join(dir, 'empty.json');
    writeFileSync(input, '{}');
    const r = await runCli([
      'policy',
      'eval',
      '--policy',
      rules,
      '--input',
      input,
      '--query',
      'data.agent_policy.big',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"result": 12345678901234567890124\b/);
  });

  it('rejects contradicting options and names a broken policy', async () => {
    const bad = join(dir, 'broken.rego');
    writeFileSync(bad, 'package agent_policy\n\nCreateContainerRequest if {\n');
    const log = join(dir, 'one.jsonl');
    writeFileSync(log, '["CreateContainerRequest", {}]\n');
    const r1 = await runCli(['policy', 'eval', '--policy', bad, '--replay', log, '--query', 'data.x']);
    assert.equal(r1.code, 2); // errors are 2, refusals 1 (like opa and grep)
    assert.match(r1.stderr, /either --replay/);
    const r2 = await runCli(['policy', 'eval', '--policy', bad, '--replay', log]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /broken\.rego/);
    assert.match(r2.stderr, /does not compile/);
  });
});
