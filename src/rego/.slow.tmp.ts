import { readFileSync } from 'node:fs';
import { AgentSession, parseRequestLog } from '../policyeval/index.js';
const text = readFileSync('/tmp/policy.rego', 'utf8');
const logPath = '/work/shared/agent-requests/pod-exec.txt';
const requests = parseRequestLog(readFileSync(logPath, 'utf8'), logPath);
const idx = requests.findLastIndex((r) => r.type === 'CreateContainerRequest');
const alt = await AgentSession.create({ text, name: 'policy.rego', origin: 'x' });
alt.engine.setData({});
for (const r of requests.slice(0, idx)) alt.evaluate(r.type, r.input);
const before = alt.state();
console.log(JSON.stringify(before).slice(0, 300));
const v = alt.evaluate(requests[idx]!.type, requests[idx]!.input);
console.log(v.allowed);
alt.engine.setData(before);
alt.engine.setInput(requests[idx]!.input);
const times: number[] = [];
for (let i = 0; i < 100; i++) {
  const t0 = performance.now();
  alt.engine.evalRule('data.agent_policy.CreateContainerRequest');
  times.push(performance.now() - t0);
  alt.engine.takePrints();
}
times.sort((a, b) => a - b);
console.log('median', times[50]!.toFixed(2), 'min', times[0]!.toFixed(2));
