// `contrast registry check`: public-PKI-only TLS with reasons, anonymous pulls, pinning, digests.
// Lab registries for the real cases; local TLS servers with openssl-made certificates for the
// expired / wrong-name reasons the lab cannot show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLab, seed, type Lab } from './helpers/lab.js';
import { runCli } from './helpers/cli.js';
import { checkImages, checkPublicTls } from '../src/registry/check.js';

function checkOptions(lab: Lab) {
  return {
    caFile: lab.caCert,
    insecureRegistries: [lab.a],
    credentials: { authFile: lab.authFile, env: {} },
  };
}

test('lab: TLS fails against the public web PKI (private CA), anonymous pull only on public/* of c', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const pinned = (host: string, repo: string) => `${host}/${repo}@${seed.appV1}`;
  const results = await checkImages(
    [
      pinned(lab.a, 'test/app'),
      pinned(lab.b, 'test/app'),
      pinned(lab.c, 'test/app'),
      pinned(lab.c, 'public/hello'),
      `${lab.c}/public/hello:v1`,
    ],
    checkOptions(lab),
  );
  const [a, b, c, pub, unpinned] = results;
  assert.deepEqual(a!.tls.problems, ['no-tls']);
  assert.match(a!.tls.reason ?? '', /does not speak TLS/);
  for (const r of [b!, c!, pub!]) {
    assert.equal(r.tls.ok, false);
    assert.deepEqual(r.tls.problems, ['self-signed']);
    assert.match(r.tls.reason ?? '', /registry-lab test CA.*not in the public web PKI/);
    assert.equal(r.pinned, true);
    assert.equal(r.digestMatch, true, 'digest compared through the credentialed fetch when anonymous fails');
    assert.equal(r.ok, false);
  }
  assert.equal(a!.anonymousPull.ok, true, 'registry a allows anonymous pulls');
  assert.equal(b!.anonymousPull.ok, false);
  assert.match(b!.anonymousPull.reason ?? '', /authentication|401/);
  assert.equal(c!.anonymousPull.ok, false);
  assert.equal(pub!.anonymousPull.ok, true, 'c allows anonymous pulls of public/*');
  assert.equal(unpinned!.pinned, false);
  assert.equal(unpinned!.digestMatch, null);
  assert.equal(unpinned!.anonymousPull.ok, true);
});

test('lab: a digest the registry does not have is not pulled; a wrong digest never matches', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const [r] = await checkImages([`${lab.c}/public/hello@sha256:${'0'.repeat(64)}`], checkOptions(lab));
  assert.equal(r!.anonymousPull.ok, false);
  assert.match(r!.anonymousPull.reason ?? '', /404|not found/);
  assert.equal(r!.digestMatch, null);
});

test('CLI: NODE_EXTRA_CA_CERTS and --ca-file do not make the lab CA trusted; --json shape; exit 1', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: lab.caCert };
  const image = `${lab.c}/public/hello@${seed.appV1}`;
  const r = await runCli(
    ['registry', 'check', image, '--json', '--ca-file', lab.caCert, '--authfile', lab.authFile],
    { env },
  );
  assert.equal(r.code, 1, r.stderr);
  const json = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  assert.equal(json.length, 1);
  assert.deepEqual(Object.keys(json[0]!).sort(), ['anonymousPull', 'digestMatch', 'image', 'pinned', 'tls']);
  assert.equal(json[0]!['image'], image);
  assert.equal(json[0]!['pinned'], true);
  assert.equal(json[0]!['digestMatch'], true);
  assert.deepEqual(json[0]!['anonymousPull'], { ok: true, reason: null });
  const tls = json[0]!['tls'] as { ok: boolean; reason: string };
  assert.equal(tls.ok, false);
  assert.match(tls.reason, /not in the public web PKI/);

  const table = await runCli(
    ['registry', 'check', image, `${lab.b}/test/app:v1`, '--authfile', lab.authFile],
    { env },
  );
  assert.equal(table.code, 1);
  assert.match(table.stdout, /^IMAGE\s+PINNED\s+PUBLIC TLS\s+ANONYMOUS PULL\s+DIGEST/);
  assert.match(table.stdout, /not pinned by digest/);
  assert.match(table.stdout, /anonymous pull: registry requires authentication/);
  for (const o of [r, table]) assert.ok(!`${o.stdout}${o.stderr}`.includes(lab.pass));
});

test('CLI: -f checks the images of confidential workloads', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = mkdtempSync(join(tmpdir(), 'contrast-check-'));
  const yaml = join(dir, 'pod.yml');
  writeFileSync(
    yaml,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: contrast-cc\n  containers:\n  - {name: a, image: "${lab.c}/public/hello@${seed.appV1}"}\n`,
  );
  const r = await runCli(['registry', 'check', '-f', yaml, '--json', '--ca-file', lab.caCert], {
    env: { ...process.env, HOME: dir },
  });
  assert.equal(r.code, 1);
  const json = JSON.parse(r.stdout) as Array<{ image: string }>;
  assert.deepEqual(
    json.map((j) => j.image),
    [`${lab.c}/public/hello@${seed.appV1}`],
  );
});

/** A TLS server with a certificate made by `openssl ca` (explicit dates, SAN). */
async function tlsServer(
  t: import('node:test').TestContext,
  opts: { cn: string; san: string; start: string; end: string },
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'contrast-tls-'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nserial = serial\nnew_certs_dir = .\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n[p]\ncommonName = supplied\n',
  );
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'k.pem',
    '-out',
    'r.csr',
    '-subj',
    `/CN=${opts.cn}`,
    '-addext',
    `subjectAltName=${opts.san}`,
  ]);
  run([
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-selfsign',
    '-keyfile',
    'k.pem',
    '-in',
    'r.csr',
    '-out',
    'c.pem',
    '-startdate',
    opts.start,
    '-enddate',
    opts.end,
  ]);
  const server = createServer(
    { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) },
    (s) => s.end(),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('TLS reasons: expired, wrong name, self-signed (real handshakes)', async (t) => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch {
    t.skip('openssl not installed');
    return;
  }
  const expired = await tlsServer(t, {
    cn: '127.0.0.1',
    san: 'IP:127.0.0.1',
    start: '20200101000000Z',
    end: '20200201000000Z',
  });
  const r1 = await checkPublicTls(expired);
  assert.equal(r1.ok, false);
  assert.deepEqual(r1.problems.sort(), ['expired', 'self-signed']);
  assert.match(r1.reason ?? '', /self-signed certificate \(CN=127\.0\.0\.1\)/);
  assert.match(r1.reason ?? '', /expired on 2020-02-01/);

  const wrongName = await tlsServer(t, {
    cn: 'other.example',
    san: 'DNS:other.example',
    start: '20200101000000Z',
    end: '20991231000000Z',
  });
  const r2 = await checkPublicTls(wrongName);
  assert.deepEqual(r2.problems.sort(), ['self-signed', 'wrong-name']);
  assert.match(r2.reason ?? '', /wrong name: certificate is for other\.example, not 127\.0\.0\.1/);

  const closed = await checkPublicTls('127.0.0.1:1');
  assert.deepEqual(closed.problems, ['unreachable']);
});
