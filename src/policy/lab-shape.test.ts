// Our hand-written lab pod requests (test/helpers/policy/lab-pod-requests.ts) against a real runtime's: the
// host-pull sequence must have the request types of the recorded AKS log pod-cm1 in the same order,
// and each request the same keys with the same value types, so our requests cannot drift from what
// a runtime sends. The log is third-party data read from ../shared (skipped where absent).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedPath } from '../../test/helpers/shared.js';
import { loadRecorded } from '../../test/helpers/policy/harness.js';
import { execProcess, labPodRequests } from '../../test/helpers/policy/lab-pod-requests.js';

/**
 * Protocol fields that differ between the recorded (older) agent and the current .proto files our
 * requests follow (kata-containers src/libs/protocols/protos): fields added since, by message path,
 * and one renamed field. Everything else must match key for key.
 */
const ADDED_SINCE_RECORDING: Record<string, string[]> = {
  // agent.proto CreateContainerRequest, ExecProcessRequest: stdio ports for passfd I/O
  CreateContainerRequest: ['stdin_port', 'stdout_port', 'stderr_port'],
  ExecProcessRequest: ['stdin_port', 'stdout_port', 'stderr_port'],
  // agent.proto Storage.shared (used by genpolicy's rules)
  'CreateContainerRequest.storages[]': ['shared'],
  'CreateSandboxRequest.storages[]': ['shared'],
  // types.proto Route.flags, Route.mtu
  'UpdateRoutesRequest.routes.Routes[]': ['flags', 'mtu'],
};
/** types.proto Interface field 6: `pciPath` in the recorded agent, `devicePath` today. */
const RENAMED: Record<string, Record<string, string>> = {
  'UpdateInterfaceRequest.interface': { pciPath: 'devicePath' },
};

type Shape = string | { [k: string]: Shape } | Shape[];

/**
 * The structure of a value: object keys (recursively; maps like Annotations too, their keys are part
 * of a request's shape), array element shapes (distinct), scalar types.
 */
function shape(v: unknown, at: string): Shape {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    const seen = new Map<string, Shape>();
    for (const e of v) {
      const s = shape(e, `${at}[]`);
      seen.set(JSON.stringify(s), s);
    }
    return [...seen.values()];
  }
  if (typeof v !== 'object') return typeof v;
  const out: Record<string, Shape> = {};
  for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
    const name = RENAMED[at]?.[k] ?? k;
    out[name] = shape(e, `${at}.${name}`);
  }
  for (const k of ADDED_SINCE_RECORDING[at] ?? []) delete out[k];
  return out;
}

/** Differences between two shapes, as "path: what" lines (empty when equal). */
function diff(ours: Shape, real: Shape, at: string): string[] {
  if (typeof ours === 'string' || typeof real === 'string')
    return ours === real ? [] : [`${at}: ours ${JSON.stringify(ours)}, recorded ${JSON.stringify(real)}`];
  if (Array.isArray(ours) || Array.isArray(real)) {
    if (!Array.isArray(ours) || !Array.isArray(real)) return [`${at}: array on one side only`];
    // every element shape on one side has an equal one on the other; an empty list (a privileged
    // container's MaskedPaths) says nothing about element shapes
    if (ours.length === 0 || real.length === 0) return [];
    const key = (s: Shape) => JSON.stringify(s);
    const r = new Set(real.map(key));
    const o = new Set(ours.map(key));
    return [
      ...ours.filter((s) => !r.has(key(s))).map((s) => `${at}[]: only ours has ${key(s)}`),
      ...real.filter((s) => !o.has(key(s))).map((s) => `${at}[]: only recorded has ${key(s)}`),
    ];
  }
  const keys = new Set([...Object.keys(ours), ...Object.keys(real)]);
  return [...keys].flatMap((k) => {
    if (!(k in ours)) return [`${at}.${k}: missing in ours`];
    if (!(k in real)) return [`${at}.${k}: not in the recorded request`];
    return diff(ours[k]!, real[k]!, `${at}.${k}`);
  });
}

test('the lab pod requests have the recorded pod-cm1 log structure (types, order, keys, value types)', (t) => {
  const path = sharedPath(t, join('agent-requests', 'pod-cm1.txt'));
  if (!path) return;
  // AllowRequestsFailingPolicy is the agent asking its policy for a setting, not a runtime request.
  const real = loadRecorded(path).filter((r) => r[0] !== 'AllowRequestsFailingPolicy');
  const ours = labPodRequests('host-pull', 'web-5d8f7c9b4-x7k2p');
  assert.deepEqual(
    ours.map((r) => r[0]),
    real.map((r) => r[0]),
    'request types in order',
  );
  const problems = ours.flatMap(([type, input], i) =>
    diff(shape(input, type), shape(real[i]![1], type), `#${i} ${type}`),
  );
  assert.deepEqual(problems, []);
});

test('our exec request has the shape of a recorded one (pod-exec)', (t) => {
  const path = sharedPath(t, join('agent-requests', 'pod-exec.txt'));
  if (!path) return;
  const real = loadRecorded(path).find((r) => r[0] === 'ExecProcessRequest')!;
  const ours = execProcess('host-pull', 'web-5d8f7c9b4-x7k2p', ['/app/ready.sh']);
  assert.deepEqual(diff(shape(ours, real[0]), shape(real[1], real[0]), real[0]), []);
});

test('the structural comparison notices a drift', () => {
  const [type, input] = labPodRequests('host-pull', 'p').find((r) => r[0] === 'CreateContainerRequest')!;
  const changed = structuredClone(input) as Record<string, Record<string, unknown>>;
  changed['OCI']!['Hostname'] = 1;
  delete changed['OCI']!['Root'];
  assert.deepEqual(diff(shape(changed, type), shape(input, type), type), [
    `${type}.OCI.Hostname: ours "number", recorded "string"`,
    `${type}.OCI.Root: missing in ours`,
  ]);
});
