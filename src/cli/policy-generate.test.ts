// `contrast policy generate` end to end: the real CLI, real files, the registry lab's images.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../test/helpers/cli.js';
import { requireLab } from '../../test/helpers/lab.js';
import { findWorkloads, getPodAnnotation, parseKubeFile } from '../kube/index.js';
import { decodeInitdata, INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../policy/index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function workspace(
  image: string,
): Promise<{ dir: string; yaml: string; text: string; dropIn: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'policy-generate-'));
  const yaml = join(dir, 'app.yaml');
  const text = `# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep this comment
  namespace: shop
spec:
  template:
    spec:
      runtimeClassName: contrast-cc-metal-qemu-snp
      containers:
        - name: app
          image: "${image}"
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
`;
  await writeFile(yaml, text);
  // The lab has no pause image: use the app image in its place (a settings drop-in).
  const dropIn = join(dir, 'settings.d');
  await mkdir(dropIn);
  await writeFile(
    join(dropIn, '10-pause.json'),
    JSON.stringify([{ op: 'replace', path: '/cluster_config/pause_container_image', value: image }]),
  );
  return { dir, yaml, text, dropIn };
}

/** `policy generate` of the workspace against lab registry (a), uncached, with `extra` flags. */
function generateOnLab(ws: { yaml: string; dropIn: string }, labHost: string, ...extra: string[]) {
  return runCli([
    'policy',
    'generate',
    ws.yaml,
    ...extra,
    '--settings-drop-in',
    ws.dropIn,
    '--insecure-registry',
    labHost,
    '--no-cache',
    '--no-progress',
  ]);
}

test('guest-pull: annotates in place with initdata; stdout lists the hash of the TOML; comments survive', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const image = `${lab.a}/test/app:v1`;
  const ws = await workspace(image);
  const r = await generateOnLab(ws, lab.a);
  assert.equal(r.code, 0, r.stderr);
  const out = await readFile(ws.yaml, 'utf8');
  assert.ok(out.includes('  name: web   # keep this comment\n') && out.startsWith('# the web tier\n'));
  assert.ok(out.endsWith('spec: {ports: [{port: 80}]}\n'), 'the Service is untouched');
  const [w] = findWorkloads([parseKubeFile(ws.yaml, out)]);
  const value = getPodAnnotation(w!, INITDATA_ANNOTATION)!;
  const initdata = decodeInitdata(value);
  const policy = initdata.data['policy.rego']!;
  assert.match(policy, /^# Kata agent policy rules written for `contrast`/);
  const data = JSON.parse(policy.slice(policy.indexOf('\npolicy_data := ') + 16));
  // Guest pull pins the unpinned YAML image (with a message) and the policy names the pinned form.
  const pinned = `${image}@${data.containers[1].image_guest_pull.digest}`;
  assert.equal(data.containers[1].OCI.Annotations['io.kubernetes.cri.image-name'], pinned);
  assert.ok(out.includes(`image: "${pinned}"`), 'the YAML image is pinned');
  assert.match(r.stderr, /pinned to .*the guest pulls by digest/);
  assert.deepEqual(data.containers[1].OCI.Process.Args, ['/app/hello.sh', '--from', 'lab']);
  assert.equal(data.containers[1].OCI.Process.Cwd, '/app');
  const [hash, file, kind, name] = r.stdout.trim().split('\t');
  assert.equal(file, ws.yaml);
  assert.equal(kind, 'Deployment');
  assert.equal(name, 'shop/web');
  // The hash is the sha256 of the uncompressed TOML, recomputable from the annotation.
  const { gunzipSync } = await import('node:zlib');
  assert.equal(hash, sha(gunzipSync(Buffer.from(value, 'base64')).toString()));
});

test('host-pull: legacy annotation into -o with dm-verity layer roots; the input is unchanged', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const image = `${lab.a}/test/app:v1`;
  const ws = await workspace(image);
  const outFile = join(ws.dir, 'out.yaml');
  const r = await generateOnLab(ws, lab.a, '-o', outFile, '--flavour', 'host-pull');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(ws.yaml, 'utf8'), ws.text);
  const [w] = findWorkloads([parseKubeFile(outFile, await readFile(outFile, 'utf8'))]);
  const text = Buffer.from(getPodAnnotation(w!, POLICY_ANNOTATION)!, 'base64').toString();
  assert.equal(r.stdout.split('\t')[0], sha(text));
  const data = JSON.parse(text.slice(text.indexOf('\npolicy_data := ') + 16));
  const overlay = data.containers[1].storages.find(
    (s: { fstype: string }) => s.fstype === 'fuse3.kata-overlay',
  );
  for (const root of overlay.options[1].split(':')) assert.match(root, /^[0-9a-f]{64}$/);
});

test('--raw prints the policy text and changes no file; -p uses other rules', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const ws = await workspace(`${lab.a}/test/app:v1`);
  const rules = join(ws.dir, 'rules.rego');
  await writeFile(rules, 'package agent_policy\n\ndefault CreateContainerRequest := true\n');
  const r = await generateOnLab(ws, lab.a, '--raw', '-p', rules);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.stdout.startsWith(
      'package agent_policy\n\ndefault CreateContainerRequest := true\n\npolicy_data := {\n',
    ),
  );
  assert.equal(await readFile(ws.yaml, 'utf8'), ws.text);
});

test('errors: malformed YAML (line and column), unknown flavour, no workloads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'policy-generate-'));
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'kind: Pod\nmetadata:\n  name: [x\nspec: {}\n');
  let r = await runCli(['policy', 'generate', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:\\d+:\\d+: invalid YAML`));
  r = await runCli(['policy', 'generate', bad, '--flavour', 'cloud']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--flavour: unknown flavour "cloud"/);
  const plain = join(dir, 'plain.yaml');
  const text = 'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n';
  await writeFile(plain, text);
  r = await runCli(['policy', 'generate', plain]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /no workloads with a runtimeClassName starting with "contrast-cc"/);
  assert.equal(await readFile(plain, 'utf8'), text);
});
