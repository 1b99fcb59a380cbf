// Terminal control characters from a server or a file never reach the terminal raw (issue 14.7). A
// registry (a local fault-injection server: a real one would not send this) answers with an error
// message that erases the line, moves the cursor up and draws a fake success line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeImage, registryHandler, startServer } from './registry-fake.js';
import { runCli } from './helpers/cli.js';
import { requireLab } from './helpers/lab.js';
import { terminalSafe } from '../src/internal/terminal.js';

const fake = '\x1b[2K\x1b[1A\r✔️ Updated manifest\n✔️ Updated manifest\u202e';

/** Any raw control character except LF/TAB, or a bidi override. */
// eslint-disable-next-line no-control-regex -- the characters under test
const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

test('terminalSafe makes ESC, CR, C1 and bidi controls visible; LF only in multiline mode', () => {
  assert.equal(terminalSafe('a\x1b[2Kb\rc\x9bd\u202ee'), 'a\\x1b[2Kb\\rc\\x9bd\\u202ee');
  assert.equal(terminalSafe('x\ny\tz'), 'x\\ny\\tz');
  assert.equal(terminalSafe('x\ny\tz', { multiline: true }), 'x\ny\tz');
  assert.equal(terminalSafe('Grüße ✔️ 日本'), 'Grüße ✔️ 日本');
});

test('a registry error message with ESC sequences and a fake line is printed escaped', async (t) => {
  const image = fakeImage();
  const reg = await startServer(
    registryHandler(image, 'test/app', (req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: fake }] }));
        return true;
      }
      return false;
    }),
  );
  t.after(() => reg.close());
  const r = await runCli([
    '--log-level',
    'debug',
    'image',
    'inspect',
    `${reg.host}/test/app:v1`,
    '--insecure-registry',
    `http://${reg.host}`,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes('MANIFEST_UNKNOWN'), r.stderr);
  assert.doesNotMatch(r.stderr, raw);
  assert.ok(
    r.stderr.includes('\\x1b[2K\\x1b[1A\\r✔️ Updated manifest\\n✔️ Updated manifest\\u202e'),
    r.stderr,
  );
  for (const line of r.stderr.split('\n')) assert.ok(!line.startsWith('✔️'), `a line of its own: ${line}`);
});

test('image config values (from the registry) are printed escaped by image inspect', async (t) => {
  const image = fakeImage();
  const config = JSON.parse(image.config.toString()) as { config: { Env: string[] } };
  config.config.Env = [`EVIL=${fake}`];
  const { createHash } = await import('node:crypto');
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
  const manifest = JSON.parse(image.manifest.toString()) as { config: { digest: string; size: number } };
  manifest.config = { ...manifest.config, digest: configDigest, size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const reg = await startServer(
    registryHandler(image, 'test/app', (req, res) => {
      if (req.url === '/v2/test/app/manifests/v1') {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        res.end(req.method === 'HEAD' ? undefined : manifestBytes);
        return true;
      }
      if (req.url === `/v2/test/app/blobs/${configDigest}`) {
        res.writeHead(200).end(configBytes);
        return true;
      }
      return false;
    }),
  );
  t.after(() => reg.close());
  const r = await runCli([
    'image',
    'inspect',
    `${reg.host}/test/app:v1`,
    '--insecure-registry',
    `http://${reg.host}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('EVIL='), r.stdout);
  assert.doesNotMatch(r.stdout, raw);
});

test('print output of a policy file is escaped by policy eval', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'print-esc-'));
  writeFileSync(
    join(dir, 'p.rego'),
    'package p\n\nx := true if {\n  print("\\u001b[2K\\u001b[1A✔️ fake")\n}\n',
  );
  writeFileSync(join(dir, 'in.json'), '{}');
  const r = await runCli([
    'policy',
    'eval',
    '--policy',
    join(dir, 'p.rego'),
    '--query',
    'data.p.x',
    '--input',
    join(dir, 'in.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes('print: \\x1b[2K\\x1b[1A✔️ fake'), r.stderr);
  assert.doesNotMatch(r.stderr + r.stdout, raw);
});

test('workload names from the YAML are printed escaped by policy generate (lab)', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const { mkdirSync, mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'name-esc-'));
  const image = `${lab.a}/test/app:v1`;
  writeFileSync(
    join(dir, 'pod.yaml'),
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: "\\e[2K\\e[1A✔️ fake"\nspec:\n  runtimeClassName: contrast-cc\n  containers:\n  - name: c\n    image: ${image}\n`,
  );
  mkdirSync(join(dir, 'drop-in'));
  writeFileSync(
    join(dir, 'drop-in', '10-pause.json'),
    JSON.stringify([{ op: 'replace', path: '/cluster_config/pause_container_image', value: image }]),
  );
  const r = await runCli([
    'policy',
    'generate',
    '--no-cache',
    '--insecure-registry',
    `http://${lab.a}`,
    '--settings-drop-in',
    join(dir, 'drop-in'),
    '-o',
    join(dir, 'out.yaml'),
    join(dir, 'pod.yaml'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('default/\\x1b[2K\\x1b[1A✔️ fake'), r.stdout);
  assert.doesNotMatch(r.stdout + r.stderr, raw);
});
