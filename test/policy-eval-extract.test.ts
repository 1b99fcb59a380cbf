// Policy extraction (rego, annotated YAML in both encodings, initdata) and request-log parsing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ContrastError } from '../src/internal/errors.js';
import { encodeInitdata, encodeLegacy } from '../src/policy/index.js';
import {
  INITDATA_ANNOTATION,
  loadPolicy,
  parseRequestLog,
  POLICY_ANNOTATION,
} from '../src/policyeval/index.js';
import { sharedPath } from './helpers/shared.js';
import { policyText } from './policy-eval/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'policy-eval-extract-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const policy = policyText({ containers: [] });
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const initdataToml = (rego: string) =>
  `version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"policy.rego" = '''\n${rego}'''\n`;
const initdataAnnotation = (rego: string) => b64(gzipSync(initdataToml(rego)));

function write(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function deployment(name: string, annotations: Record<string, string>, kind = 'Deployment'): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: apps/v1
kind: ${kind}
metadata:
  name: ${name}
spec:
  template:
    metadata:
      annotations:
${ann || '        {}'}
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: app
          image: nginx
`;
}

function rejects(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ContrastError, `expected a ContrastError, got ${String(err)}`);
    const text = `${err.message}\n${err.hint ?? ''}`;
    for (const p of patterns) assert.match(text, p);
    return true;
  });
}

describe('policy extraction', () => {
  it('reads a .rego file as is', () => {
    const f = write('p.rego', policy);
    const src = loadPolicy(f);
    assert.equal(src.text, policy);
    assert.equal(src.name, f);
  });

  it('recognises a Rego module by its package line whatever the file is called', () => {
    assert.equal(loadPolicy(write('policy.txt', policy)).text, policy);
  });

  it('decodes the legacy base64 policy annotation of a Pod', () => {
    const f = write(
      'pod.yaml',
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    ${POLICY_ANNOTATION}: ${b64(policy)}\nspec:\n  containers: []\n`,
    );
    const src = loadPolicy(f);
    assert.equal(src.text, policy);
    assert.match(src.origin, /Pod\/web/);
  });

  it('decodes initdata (base64 of gzip of TOML) from a Deployment template, among other documents', () => {
    const yaml = [
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports: []\n',
      deployment('web', { [INITDATA_ANNOTATION]: initdataAnnotation(policy) }),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {}\n',
    ].join('---\n');
    const src = loadPolicy(write('multi.yaml', yaml));
    assert.equal(src.text, policy);
    assert.match(src.origin, /Deployment\/web/);
  });

  it('finds the template of a CronJob', () => {
    const yaml = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            ${POLICY_ANNOTATION}: ${b64(policy)}
        spec:
          containers: []
`;
    assert.equal(loadPolicy(write('cron.yaml', yaml)).text, policy);
  });

  it('asks which workload when several carry a policy, and --workload selects one', () => {
    const other = policyText({ containers: [{ OCI: {} }] });
    const f = write(
      'two.yaml',
      deployment('web', { [POLICY_ANNOTATION]: b64(policy) }) +
        '---\n' +
        deployment('db', { [INITDATA_ANNOTATION]: initdataAnnotation(other) }, 'StatefulSet'),
    );
    rejects(() => loadPolicy(f), /two\.yaml/, /Deployment\/web/, /StatefulSet\/db/, /--workload/);
    assert.equal(loadPolicy(f, { workload: 'StatefulSet/db' }).text, other);
    assert.equal(loadPolicy(f, { workload: 'web' }).text, policy);
    rejects(() => loadPolicy(f, { workload: 'Pod/nope' }), /no workload "Pod\/nope"/, /Deployment\/web/);
  });

  it('says so when no workload has a policy, listing the workloads', () => {
    const f = write('none.yaml', deployment('web', { other: 'x' }));
    rejects(() => loadPolicy(f), /none\.yaml/, /no workload carries/, /Deployment\/web/, /contrast generate/);
  });

  it('names the file and the annotation when the value is not base64', () => {
    const f = write('bad.yaml', deployment('web', { [POLICY_ANNOTATION]: 'not base64 at all!' }));
    rejects(
      () => loadPolicy(f),
      /bad\.yaml/,
      /Deployment\/web/,
      new RegExp(POLICY_ANNOTATION.replace(/\./g, '\\.')),
      /not base64/,
    );
  });

  it('rejects initdata without a policy.rego entry, listing what it has', () => {
    const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"aa.toml" = "x"\n';
    const f = write('nopolicy.yaml', deployment('web', { [INITDATA_ANNOTATION]: b64(gzipSync(toml)) }));
    rejects(() => loadPolicy(f), /nopolicy\.yaml/, /policy\.rego/, /aa\.toml/);
  });

  it('rejects corrupt gzip in initdata', () => {
    const gz = gzipSync(initdataToml(policy));
    const f = write(
      'corrupt.yaml',
      deployment('web', { [INITDATA_ANNOTATION]: b64(gz.subarray(0, gz.length - 12)) }),
    );
    rejects(() => loadPolicy(f), /corrupt\.yaml/, /gzip/);
  });

  it('reads an initdata document directly: TOML, gzip, or base64', () => {
    assert.equal(loadPolicy(write('initdata.toml', initdataToml(policy))).text, policy);
    assert.equal(loadPolicy(write('initdata.toml.gz', gzipSync(initdataToml(policy)))).text, policy);
    assert.equal(loadPolicy(write('initdata.b64', initdataAnnotation(policy) + '\n')).text, policy);
  });

  it('reports invalid YAML with file and line', () => {
    const f = write('broken.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n');
    rejects(() => loadPolicy(f), /broken\.yaml/, /invalid YAML/);
  });

  it('reads what our generator writes: both encodings of src/policy, with text TOML must escape', () => {
    // ''' and backslashes force the generator's TOML writer off its literal multi-line strings
    const tricky = policyText({ containers: [] }) + "\n# ''' quoted \\d+ \"x\"\n";
    for (const encoded of [encodeLegacy(tricky), encodeInitdata(tricky)]) {
      const f = write(
        `gen-${encoded.annotationKey.length}.yaml`,
        deployment('web', {}).replace('{}', `${encoded.annotationKey}: "${encoded.annotationValue}"`),
      );
      assert.equal(loadPolicy(f).text, tricky, encoded.annotationKey);
    }
  });

  it('names a missing file', () => {
    rejects(() => loadPolicy(join(dir, 'missing.rego')), /--policy .*missing\.rego/, /cannot read/);
  });
});

describe('request log parsing', () => {
  it('reads the recorded format and plain JSON lines', () => {
    const text =
      '["ep":"CreateSandboxRequest",{"hostname":"a"}],\n\n["ExecProcessRequest", {"x": [1, "]"]}]\n';
    const reqs = parseRequestLog(text, 'log.txt');
    assert.deepEqual(
      reqs.map((r) => [r.type, r.input, r.line]),
      [
        ['CreateSandboxRequest', { hostname: 'a' }, 1],
        ['ExecProcessRequest', { x: [1, ']'] }, 3],
      ],
    );
  });

  it('names file and line of a malformed line', () => {
    rejects(() => parseRequestLog('["A", {}]\n{"not": "an array"}\n', 'log.txt'), /log\.txt:2/);
    rejects(() => parseRequestLog('["ep":"A",{]\n', 'log.txt'), /log\.txt:1/, /not a request line/);
    rejects(() => parseRequestLog('\n\n', 'empty.txt'), /empty\.txt: no requests/);
  });

  for (const name of ['pod-exec.txt', 'pod-lifecycle.txt', 'k8s-policy-pod.txt', 'pod-cm1.txt']) {
    it(`parses every request of ${name}`, (t) => {
      const p = sharedPath(t, join('agent-requests', name));
      if (!p) return;
      const text = readFileSync(p, 'utf8');
      const reqs = parseRequestLog(text, p);
      const expected = text.split('\n').filter((l) => l.trim() !== '').length;
      assert.equal(reqs.length, expected);
      assert.equal(reqs[0]?.type, 'AllowRequestsFailingPolicy');
      assert.ok(reqs.some((r) => r.type === 'CreateContainerRequest'));
      for (const r of reqs) assert.equal(typeof r.input, 'object');
    });
  }
});
