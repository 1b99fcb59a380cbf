// Quick performance probe (not a test): parse+compile time of a generated agent policy and median
// evaluation time of the recorded CreateContainerRequests.
//   node --import tsx src/rego/perf.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkloads, parseKubeFile } from '../kube/index.js';
import { generatePolicies, loadPolicySettings } from '../policy/index.js';
import { RECORDED_BUSYBOX, RECORDED_PAUSE, imageMap } from '../policy/testdata/fixtures.js';
import { loadRecorded } from '../policy/testdata/harness.js';
import { Engine } from './index.js';

const BUSYBOX = 'mcr.microsoft.com/aks/e2e/library-busybox:master.220314.1-linux-amd64';
const policyDir = join(import.meta.dirname, '../policy/testdata');
const text = readFileSync(join(policyDir, 'recorded-pods.yaml'), 'utf8');
const f = parseKubeFile('recorded-pods.yaml', text);
const ws = findWorkloads([f], { runtimeClassPrefix: 'kata-cc' });
const settings = await loadPolicySettings({ flavour: 'host-pull' });
const images = imageMap([settings.cluster_config.pause_container_image, RECORDED_PAUSE], [BUSYBOX, RECORDED_BUSYBOX]);
const policies = await generatePolicies([f], ws, images, settings, { flavour: 'host-pull' });
const policy = policies.find((p) => p.workload.name === 'exec-test')!;
console.log(`policy text: ${(policy.policyText.length / 1024).toFixed(1)} KiB`);

const compile: number[] = [];
const firstEval: number[] = [];
let engine!: Engine;
for (let i = 0; i < 60; i++) {
  const t0 = performance.now();
  engine = new Engine();
  engine.addPolicy('policy.rego', policy.policyText);
  const t1 = performance.now();
  engine.evalRule('data.agent_policy.AllowRequestsFailingPolicy');
  compile.push(t1 - t0);
  firstEval.push(performance.now() - t1);
}
if (process.env['TRACE_DEMO']) {
  const req = reqs0().find(([t]) => t === 'CreateContainerRequest')![1] as { OCI: { Process: { Args: string[] } } };
  const bad = structuredClone(req);
  bad.OCI.Process.Args = ['/bin/sh', '-c', 'evil'];
  engine.setInput(bad);
  engine.enableTrace(true);
  console.log(JSON.stringify(engine.evalRule('data.agent_policy.CreateContainerRequest')));
  for (const t of engine.takeTrace()) console.log(JSON.stringify(t).slice(0, 400));
  engine.enableTrace(false);
  process.exit(0);
}
function reqs0() {
  return loadRecorded(join(import.meta.dirname, '../../../shared/agent-requests/pod-exec.txt'));
}
const reqs = loadRecorded(join(import.meta.dirname, '../../../shared/agent-requests/pod-exec.txt'));
const creates = reqs.filter(([t]) => t === 'CreateContainerRequest').map(([, i]) => i);
const times: number[] = [];
const results: unknown[] = [];
for (let round = 0; round < 30; round++) {
  for (const input of creates) {
    const t0 = performance.now();
    engine.setInput(input);
    const r = engine.evalRule('data.agent_policy.CreateContainerRequest');
    times.push(performance.now() - t0);
    if (round === 0) results.push(r);
  }
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`parse+compile: first ${compile[0]!.toFixed(1)} ms, median ${med(compile).toFixed(1)} ms; first evaluation after load: median ${med(firstEval).toFixed(1)} ms`);
console.log(`CreateContainerRequest eval: median ${med(times).toFixed(2)} ms over ${times.length} evaluations`);
console.log('results (first round):', JSON.stringify(results).slice(0, 300));
if (process.env['DUMP_POLICY']) (await import('node:fs')).writeFileSync(process.env['DUMP_POLICY'], policy.policyText);
