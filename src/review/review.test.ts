// policy show / diff / check on real generated policies (src/policy with image fixtures), after the
// changes people make to deployments: env, args, a rebuilt image, a new volume, a removed container,
// privileged. Policies are read back from the YAML exactly as the CLI reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  findWorkloads,
  getPodAnnotation,
  parseKubeFile,
  serializeKubeFile,
  setPodAnnotation,
} from '../kube/index.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../policyeval/index.js';
import { INSECURE_DEBUG_KEY } from '../contrast/initdata.js';
import { compareYaml, formatStale } from './check.js';
import { diffPolicies, type Change } from './diff.js';
import { changePhrase, diffMarkdown, diffText, phrases, showJson, showMarkdown, showText } from './format.js';
import { viewsOfFiles } from './load.js';
import { splitPolicy, workloadView } from './model.js';
import { generated, webYaml, WEB_IMAGE } from '../../test/helpers/review-generate.js';

const views = (text: string, path = 'app.yaml') => viewsOfFiles([parseKubeFile(path, text)]).workloads;

async function diffOf(before: string, after: string) {
  return diffPolicies(views(before), views(after));
}

const base = await generated(webYaml());

function only(changes: Change[], field: string): Change[] {
  return changes.filter((c) => c.field === field);
}

test('show: containers in agent order with image pin, user, args, env kinds, mounts, caps, exec; sandbox switches', () => {
  const [w] = views(base);
  assert.ok(w);
  assert.equal(w.kind, 'Deployment');
  assert.equal(w.name, 'web');
  assert.equal(w.namespace, 'shop');
  assert.equal(w.annotation, INITDATA_ANNOTATION);
  assert.match(w.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    w.containers.map((c) => c.name),
    ['pause', 'app', 'proxy'],
  );
  const app = w.containers[1]!;
  assert.equal(app.image, `${WEB_IMAGE}@sha256:${'a'.repeat(64)}`);
  assert.equal(app.imageDigest, `sha256:${'a'.repeat(64)}`);
  assert.deepEqual(app.args, ['serve', '--port', '8080']);
  assert.deepEqual(
    app.env.find((e) => e.name === 'MODE'),
    { name: 'MODE', value: 'production', pattern: false },
  );
  assert.deepEqual(
    app.env.find((e) => e.name === 'HOSTNAME'),
    { name: 'HOSTNAME', value: '$(host-name)', pattern: true },
  );
  assert.equal(app.privileged, false);
  assert.equal(app.capabilities.summary, 'default');
  const sa = app.mounts.find((m) => m.destination === '/var/run/secrets/kubernetes.io/serviceaccount');
  assert.equal(sa?.readOnly, true);
  assert.deepEqual(app.user, { uid: 0, gid: 0, groups: [0, 10], name: '' });
  assert.deepEqual(w.sandbox.streams, {
    ReadStreamRequest: true,
    WriteStreamRequest: false,
    CloseStdinRequest: false,
  });
  assert.ok('UpdateRoutesRequest' in w.sandbox.network);
  assert.deepEqual(w.sandbox.copyFile, ['$(sfprefix)']);

  const text = showText([w]);
  assert.match(text, /\[2\] app\n {6}image {10}registry\.example\.com\/shop\/web:v1@sha256:a{64}\n/);
  assert.match(text, /HOSTNAME=\$\(host-name\) {2}\(pattern\)/);
  const md = showMarkdown([w]);
  assert.match(md, /^### Deployment `web` \(namespace `shop`\)/);
  assert.match(md, /\n\| \| \*\*pause\*\* \| \*\*app\*\* \| \*\*proxy\*\* \|\n\|---\|---\|---\|---\|\n/);
  // The --json shape the issue fixes (fields may grow).
  const json = JSON.parse(showJson([w])) as { workloads: Array<Record<string, unknown>> };
  const jw = json.workloads[0]!;
  for (const k of ['kind', 'name', 'namespace', 'annotation', 'hash', 'containers', 'sandbox'])
    assert.ok(k in jw, k);
  const jc = (jw['containers'] as Array<Record<string, unknown>>)[1]!;
  for (const k of ['name', 'image', 'user', 'args', 'env', 'mounts', 'capabilities', 'privileged', 'exec'])
    assert.ok(k in jc, k);
  for (const k of ['destination', 'source', 'options'])
    assert.ok(k in (jc['mounts'] as Array<Record<string, unknown>>)[0]!, k);
});

test('show: host pull counts the layer roots; the legacy annotation and its hash', async () => {
  const [w] = views(await generated(webYaml(), { flavour: 'host-pull' }));
  assert.equal(w!.annotation, POLICY_ANNOTATION);
  const app = w!.containers[1]!;
  assert.equal(app.image, WEB_IMAGE);
  assert.equal(app.layers?.length, 2);
  assert.match(showText([w!]), /host pull: 2 layers pinned by dm-verity root/);
});

test('diff: identical policies admit the same', async () => {
  const r = await diffOf(base, base);
  assert.deepEqual(r.changes, []);
  assert.deepEqual(r.unchanged, ['Deployment/web']);
  assert.match(diffText(r), /the policies admit the same/);
});

test('diff: env change and addition', async () => {
  const r = await diffOf(
    base,
    await generated(
      webYaml({
        env: [
          ['MODE', 'debug'],
          ['FOO', 'bar'],
        ],
      }),
    ),
  );
  assert.deepEqual(
    r.changes.map((c) => [c.container, c.field, c.before, c.after]),
    [
      ['app', 'env', 'MODE=production', 'MODE=debug'],
      ['app', 'env', null, 'FOO=bar'],
    ],
  );
  assert.equal(r.changes[0]!.namespace, 'shop');
  assert.match(
    diffText(r),
    /^Deployment\/web \(namespace shop\)\n {2}app: env MODE=production → MODE=debug; env \+FOO=bar\n$/,
  );
});

test('diff: args', async () => {
  const r = await diffOf(base, await generated(webYaml({ args: ['serve', '--port', '9090'] })));
  assert.deepEqual(
    r.changes.map((c) => [c.container, c.field, c.before, c.after]),
    [['app', 'args', ['serve', '--port', '8080'], ['serve', '--port', '9090']]],
  );
  assert.equal(changePhrase(r.changes[0]!), 'args serve --port 8080 → serve --port 9090');
});

test('diff: a rebuilt image (new digest; host pull: new layer root)', async () => {
  let r = await diffOf(base, await generated(webYaml(), { rebuilt: true }));
  assert.deepEqual(
    r.changes.map((c) => [c.container, c.field]),
    [['app', 'image']],
  );
  assert.equal(changePhrase(r.changes[0]!), 'image sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…');
  r = await diffOf(
    await generated(webYaml(), { flavour: 'host-pull' }),
    await generated(webYaml(), { flavour: 'host-pull', rebuilt: true }),
  );
  assert.deepEqual(
    r.changes.map((c) => [c.container, c.field]),
    [['app', 'layers']],
  );
});

test('diff: a new volume adds the mount (and its storage, if any)', async () => {
  const r = await diffOf(base, await generated(webYaml({ volume: true })));
  const mounts = only(r.changes, 'mounts');
  assert.equal(mounts.length, 1);
  assert.equal((mounts[0]!.after as { destination: string }).destination, '/cache');
  assert.equal(mounts[0]!.before, null);
  // Whether the emptyDir also brings a storage depends on the runtime's emptyDir mode (a shared-fs
  // copy has none); if it does, it is reported for the same container.
  assert.ok(only(r.changes, 'storages').length <= 1);
  assert.ok(r.changes.every((c) => c.container === 'app'));
});

test('diff: a removed container', async () => {
  const r = await diffOf(base, await generated(webYaml({ sidecar: false })));
  assert.deepEqual(
    r.changes.map((c) => [c.container, c.field, c.after]),
    [['proxy', 'container', null]],
  );
  assert.match(diffText(r), / {2}proxy: -container \(image registry\.example\.com\/shop\/sidecar:v1@sha256:/);
});

test('diff: privileged flag (caps, masked paths, rw /sys) with markdown for a PR comment', async () => {
  const r = await diffOf(base, await generated(webYaml({ privileged: true })));
  assert.deepEqual(
    only(r.changes, 'privileged').map((c) => [c.container, c.before, c.after]),
    [['app', false, true]],
  );
  assert.ok(only(r.changes, 'capabilities').some((c) => c.after === 'CAP_SYS_ADMIN'));
  assert.ok(only(r.changes, 'maskedPaths').every((c) => c.after === null));
  const md = diffMarkdown(r);
  assert.match(
    md,
    /^\*\*Policy changes\*\*: \d+ changes in 1 workload\.\n\n### Deployment\/web \(namespace shop\)\n\n\| container \| field \| before \| after \|\n/,
  );
  assert.match(md, /\n\| app \| privileged \| `false` \| `true` \|\n/);
  assert.match(md, /\| app \| capabilities \| {2}\| [^\n]*`CAP_SYS_ADMIN`<br>/);
  // Additions and removals of one field share a phrase in text.
  const ps = phrases(r.changes.filter((c) => c.container === 'app'));
  assert.ok(ps.some((p) => /^capabilities \+CAP_DAC_READ_SEARCH \+/.test(p)));
});

test('diff: added and removed workloads; changed workloads come first in markdown', async () => {
  const other = (await generated(webYaml())).replace('name: web', 'name: api');
  const both = `${base}---\n${other}`;
  const r = await diffOf(both, `${await generated(webYaml({ args: ['x'] }))}---\n${other}`);
  assert.deepEqual(r.unchanged, ['Deployment/api']);
  assert.match(diffMarkdown(r), /### Deployment\/web[\s\S]*Unchanged: `Deployment\/api`/);
  const added = diffPolicies(views(base), views(both));
  assert.deepEqual(
    added.changes.map((c) => [c.workload, c.field, c.before]),
    [['Deployment/api', 'workload', null]],
  );
});

test('unknown policy data fields (a newer data shape) are shown and diffed, not dropped', () => {
  const w = views(base)[0]!;
  const text = w ? splitPolicy(policyTextOf(base), 'x') : undefined;
  assert.ok(text);
  const data = text.data as {
    containers: Array<Record<string, unknown>>;
    request_defaults: Record<string, unknown>;
  };
  data.containers[1]!['gpu_devices'] = [{ vendor: 'nvidia' }];
  data.request_defaults['CopyFileRequest'] = { allowed: ['^/etc/'], symlinks: false };
  data.request_defaults['FutureRequest'] = true;
  (data as Record<string, unknown>)['brand_new'] = { x: 1 };
  const changed = workloadView({
    kind: 'Deployment',
    name: 'web',
    namespace: 'shop',
    origin: 'test',
    annotation: 'policy',
    hash: 'h',
    text: `${text.rules}policy_data := ${JSON.stringify(data)}`,
  });
  assert.deepEqual(changed.containers[1]!.other['gpu_devices'], [{ vendor: 'nvidia' }]);
  assert.match(showText([changed]), /gpu_devices\[0\]\.vendor: nvidia/);
  assert.match(showText([changed]), /brand_new\.x: 1/);
  const r = diffPolicies([w], [changed]);
  const fields = r.changes.map((c) => `${c.container ?? ''}:${c.field}`);
  assert.ok(fields.includes('app:gpu_devices'), fields.join(' '));
  assert.ok(fields.includes(':sandbox.requests.FutureRequest'), fields.join(' '));
  assert.ok(fields.includes(':sandbox.other.brand_new'), fields.join(' '));
  assert.ok(
    fields.some((f) => f.startsWith(':sandbox.copyFile')),
    fields.join(' '),
  );
});

function policyTextOf(yaml: string): string {
  const [w] = findWorkloads([parseKubeFile('x.yaml', yaml)]);
  const toml = gunzipSync(Buffer.from(getPodAnnotation(w!, INITDATA_ANNOTATION)!, 'base64')).toString();
  const m = /"policy\.rego" = '''\n([\s\S]*?)'''/.exec(toml);
  return m![1]!;
}

test('check: fresh output is up to date; stale after an edit names the workload and what differs', async () => {
  assert.deepEqual(compareYaml('app.yaml', base, base), []);
  // The user edited the YAML (env) but did not regenerate: what generation writes now differs.
  const edited = base.replace('{name: MODE, value: "production"}', '{name: MODE, value: "debug"}');
  const regenerated = await generated(edited);
  const stale = compareYaml('app.yaml', edited, regenerated);
  assert.equal(stale.length, 1);
  assert.equal(stale[0]!.workload, 'Deployment/web');
  assert.deepEqual(
    stale[0]!.changes.map((c) => [c.container, c.field, c.before, c.after]),
    [['app', 'env', 'MODE=production', 'MODE=debug']],
  );
  assert.equal(
    formatStale(stale),
    'stale: app.yaml: Deployment/web (namespace shop)\n  app: env MODE=production → MODE=debug\n',
  );
});

test('check: hand-edited annotations (policy changed by hand, garbage, removed) are stale', async () => {
  const f = parseKubeFile('app.yaml', base);
  const [w] = findWorkloads([f]);
  const toml = gunzipSync(Buffer.from(getPodAnnotation(w!, INITDATA_ANNOTATION)!, 'base64')).toString();
  // Someone allowed `sh` in the first container (pause) by editing the initdata.
  const hacked = toml.replace('"exec_commands": []', '"exec_commands": [["sh"]]');
  assert.notEqual(hacked, toml);
  setPodAnnotation(w!, INITDATA_ANNOTATION, gzipSync(hacked).toString('base64'));
  let stale = compareYaml('app.yaml', serializeKubeFile(f), base);
  assert.deepEqual(
    stale[0]!.changes.map((c) => [c.container, c.field, c.before, c.after]),
    [['pause', 'exec', 'sh', null]],
  );

  setPodAnnotation(w!, INITDATA_ANNOTATION, 'bm90IGd6aXA=');
  stale = compareYaml('app.yaml', serializeKubeFile(f), base);
  assert.match(stale[0]!.reason!, /policy annotation on disk cannot be read: .*gzip|base64|Rego/);

  const unannotated = base.replace(/^ {6}annotations:\n {8}io\.katacontainers[^\n]*\n/m, '');
  assert.notEqual(unannotated, base);
  stale = compareYaml('app.yaml', unannotated, base);
  assert.equal(stale[0]!.reason, 'no policy annotation (never generated?)');
});

test('show/diff: initdata entries besides the policy (the debug switch) are sandbox settings', () => {
  const f = parseKubeFile('app.yaml', base);
  const [w] = findWorkloads([f]);
  const toml = gunzipSync(Buffer.from(getPodAnnotation(w!, INITDATA_ANNOTATION)!, 'base64')).toString();
  setPodAnnotation(
    w!,
    INITDATA_ANNOTATION,
    gzipSync(`${toml}"${INSECURE_DEBUG_KEY}" = "true"\n`).toString('base64'),
  );
  const debug = views(serializeKubeFile(f))[0]!;
  assert.deepEqual(debug.sandbox.debug, { 'contrast.insecure-debug': 'true' });
  assert.match(showText([debug]), /\n {6}debug {10}contrast\.insecure-debug: true\n/);
  const r = diffPolicies(views(base), [debug]);
  assert.deepEqual(
    r.changes.map((c) => [c.field, c.before, c.after]),
    [['sandbox.debug.contrast.insecure-debug', null, 'true']],
  );
  assert.notEqual(debug.hash, views(base)[0]!.hash, 'the measured hash covers the whole TOML');
});
