// AgentSession.probe: the agent's verdict on a request that then did not happen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentSession } from './agent.js';

const policy = `package agent_policy
import future.keywords.if

default AddRequest := {"allowed": false}
AddRequest := {"allowed": true, "ops": [{"op": "add", "path": concat("/", ["", "pstate", input.key]), "value": 1}]} if {
	not data.pstate[input.key]
}
`;

test('probe judges like evaluate but leaves the agent state as it was', async () => {
  const agent = await AgentSession.create({ text: policy, name: 'p.rego', origin: 'test policy' });
  assert.deepEqual(agent.state(), { pstate: {} }, "the agent's initial data document");

  const probed = agent.probe('AddRequest', { key: 'a' });
  assert.equal(probed.allowed, true);
  assert.equal(probed.appliedOps, 1);
  assert.deepEqual(agent.state(), { pstate: {} });

  assert.equal(agent.evaluate('AddRequest', { key: 'a' }).allowed, true);
  assert.deepEqual(agent.state(), { pstate: { a: 1 } });
  // the recorded state decides: the same key again is refused, whether probed or evaluated
  assert.equal(agent.probe('AddRequest', { key: 'a' }).allowed, false);
  assert.equal(agent.evaluate('AddRequest', { key: 'a' }).allowed, false);
  assert.deepEqual(agent.state(), { pstate: { a: 1 } });
});
