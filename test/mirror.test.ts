// `contrast mirror` against the registry lab: anonymous HTTP registry a → Basic registry b and token
// registry c, byte-identical digests, reruns that copy nothing, interrupted runs that resume,
// chunked uploads, cross-repository mounts, -f YAML and the image-replacements file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeRegExp, requireLab, seed, type Lab } from './helpers/lab.js';
import { runCli } from './helpers/cli.js';
import { Readable } from 'node:stream';
import { RegistryClient, digestOf, mediaTypes, parseManifest } from '../src/registry/index.js';
import { putManifest, uploadBlob } from '../src/registry/push.js';
import { Mirror, mirrorImages, parseMirrorTarget, formatReplacements } from '../src/registry/mirror.js';
import { parseImageReplacements } from '../src/contrast/replacements.js';
import { setLogLevel } from '../src/internal/log.js';

setLogLevel('warn');

function labClient(lab: Lab): RegistryClient {
  return new RegistryClient({
    caFile: lab.caCert,
    insecureRegistries: [lab.a],
    credentials: { authFile: lab.authFile, env: {} },
    registriesConfig: { path: undefined, registries: [] },
  });
}

const runId = (): string => `mirrortest/${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** Fetches the mirrored image from the target with a fresh client: every digest is verified on the way. */
async function assertSameContent(lab: Lab, source: string, target: string): Promise<void> {
  const c = labClient(lab);
  try {
    const src = await c.fetchManifest(source);
    const dst = await c.fetchManifest(target);
    assert.equal(dst.digest, src.digest);
    assert.deepEqual(Buffer.from(dst.bytes), Buffer.from(src.bytes));
    const parsed = parseManifest(dst.bytes, dst.mediaType, target);
    const manifests = parsed.kind === 'index' ? parsed.manifests.map((d) => d.digest) : [dst.digest];
    const repo = target.split('@')[0]!.replace(/:[^/:]+$/, '');
    for (const digest of manifests) {
      const m = await c.fetchManifest(`${repo}@${digest}`);
      const pm = parseManifest(m.bytes, m.mediaType, digest);
      assert.equal(pm.kind, 'manifest');
      if (pm.kind !== 'manifest') continue;
      for (const blob of [pm.config, ...pm.layers]) {
        // openBlob's stream verifies digest and size of what the mirror serves.
        let size = 0;
        for await (const chunk of (await c.openBlob(`${repo}@${digest}`, blob)) as AsyncIterable<Buffer>)
          size += chunk.length;
        assert.equal(size, blob.size);
      }
    }
  } finally {
    await c.close();
  }
}

test('parseMirrorTarget and formatReplacements', () => {
  assert.deepEqual(parseMirrorTarget('registry.example.com/mirror/x/'), {
    registry: 'registry.example.com',
    prefix: 'mirror/x',
  });
  assert.deepEqual(parseMirrorTarget('127.0.0.1:5001'), { registry: '127.0.0.1:5001', prefix: '' });
  assert.throws(() => parseMirrorTarget('mirror'), /expected registry\[\/prefix\]/);
  assert.throws(() => parseMirrorTarget('r.io/Upper'), /lowercase/);
  const text = formatReplacements([
    {
      source: 'a.io/x:1',
      target: 'm.io/p/x:1@sha256:' + 'a'.repeat(64),
      digest: 'sha256:' + 'a'.repeat(64),
      platforms: [],
    },
  ]);
  assert.deepEqual([...parseImageReplacements(text)], [['a.io/x:1', `m.io/p/x:1@sha256:${'a'.repeat(64)}`]]);
});

for (const which of ['b', 'c'] as const) {
  test(`mirror a → ${which}: index with all platforms and a single image, digests identical, rerun copies nothing`, async (t) => {
    const lab = requireLab(t);
    if (!lab) return;
    const to = `${lab[which]}/${runId()}`;
    const client = labClient(lab);
    t.after(() => client.close());
    const images = [`${lab.a}/test/multi:v1`, `${lab.a}/test/app:v1-docker`];
    const first = await mirrorImages(client, images, { to, allPlatforms: true });
    assert.equal(first.images[0]!.digest, seed.multiV1);
    assert.equal(first.images[0]!.target, `${to}/test/multi:v1@${seed.multiV1}`);
    assert.deepEqual(first.images[0]!.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(first.images[1]!.digest, seed.appV1Docker);
    assert.ok(first.stats.blobsCopied > 0);
    assert.equal(first.stats.blobsSkipped, 0);
    for (const img of first.images) await assertSameContent(lab, img.source, img.target);
    // Tags point at the same content too.
    await assertSameContent(lab, `${lab.a}/test/multi:v1`, `${to}/test/multi:v1`);

    const second = await mirrorImages(labClient(lab), images, { to, allPlatforms: true });
    assert.equal(second.stats.blobsCopied, 0);
    assert.equal(second.stats.bytesCopied, 0);
    assert.equal(second.stats.blobsMounted, 0);
    assert.equal(second.stats.manifestsPushed, 0);
    assert.equal(second.stats.bytesSkipped, first.stats.bytesCopied + first.stats.bytesMounted);
  });
}

test('default platform: one platform manifest of an index, pinned by its own digest', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const to = `${lab.b}/${runId()}`;
  const client = labClient(lab);
  t.after(() => client.close());
  const r = await mirrorImages(client, [`${lab.a}/test/multi:v1`], { to });
  const amd64 = await client.resolveImage(`${lab.a}/test/multi:v1`);
  assert.equal(r.images[0]!.digest, amd64.digest);
  assert.deepEqual(r.images[0]!.platforms, ['linux/amd64']);
  await assertSameContent(lab, `${lab.a}/test/multi@${amd64.digest}`, r.images[0]!.target);
  await assert.rejects(
    mirrorImages(client, [`${lab.a}/test/multi:v1`], {
      to,
      platforms: [{ os: 'linux', architecture: 's390x' }],
    }),
    /no image for platform linux\/s390x/,
  );
  // Pinned to the index: the index digest must keep working, so every platform is copied.
  const pinned = await mirrorImages(client, [`${lab.a}/test/multi@${seed.multiV1}`], {
    to: `${lab.b}/${runId()}`,
  });
  assert.equal(pinned.images[0]!.digest, seed.multiV1);
  assert.deepEqual(pinned.images[0]!.platforms, ['linux/amd64', 'linux/arm64']);
  await assertSameContent(lab, `${lab.a}/test/multi@${seed.multiV1}`, pinned.images[0]!.target);
});

test('interrupted run resumes: finished blobs are skipped, the rest is copied', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const to = `${lab.c}/${runId()}`;
  const images = [`${lab.a}/test/multi:v1`];
  const controller = new AbortController();
  const client = labClient(lab);
  t.after(() => client.close());
  const interrupted = new Mirror(client, {
    to,
    allPlatforms: true,
    concurrency: 1,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'blob-done' && e.how === 'copied') controller.abort();
    },
  });
  await assert.rejects(
    interrupted.run(images),
    (err: Error & { code?: string }) =>
      err.code === 'MIRROR_INTERRUPTED' && /run the same command again/.test(err.message),
  );
  assert.equal(interrupted.stats.blobsCopied, 1);
  assert.equal(interrupted.stats.manifestsPushed, 0);

  const resumed = await mirrorImages(labClient(lab), images, { to, allPlatforms: true, concurrency: 1 });
  assert.equal(resumed.stats.blobsSkipped, 1, 'the blob copied before the interruption is not sent again');
  assert.ok(resumed.stats.blobsCopied + resumed.stats.blobsMounted >= 3);
  await assertSameContent(lab, images[0]!, resumed.images[0]!.target);
});

test('chunked uploads (PATCH with Content-Range) keep every digest', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  for (const host of [lab.b, lab.c]) {
    const to = `${host}/${runId()}`;
    const client = labClient(lab);
    t.after(() => client.close());
    const r = await mirrorImages(client, [`${lab.a}/test/app:v1`], {
      to,
      upload: { mode: 'chunked', chunkSize: 97 },
    });
    assert.equal(r.images[0]!.digest, seed.appV1);
    assert.equal(r.stats.blobsCopied, 3);
    await assertSameContent(lab, `${lab.a}/test/app:v1`, r.images[0]!.target);
  }
});

test('same registry: blobs are mounted across repositories, no bytes copied', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const to = `${lab.b}/${runId()}`;
  const client = labClient(lab);
  t.after(() => client.close());
  const r = await mirrorImages(client, [`${lab.b}/test/app:v1`], { to });
  assert.equal(r.stats.blobsCopied, 0);
  assert.equal(r.stats.bytesCopied, 0);
  assert.equal(r.stats.blobsMounted, 3);
  await assertSameContent(lab, `${lab.b}/test/app:v1`, r.images[0]!.target);
});

test('CLI: -f takes the confidential workloads only, writes replacements, summary on stderr, no secret', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = mkdtempSync(join(tmpdir(), 'contrast-mirror-'));
  const prefix = runId();
  const to = `${lab.b}/${prefix}`;
  const yaml = join(dir, 'app.yml');
  writeFileSync(
    yaml,
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: cc}',
      'spec:',
      '  runtimeClassName: contrast-cc-metal-qemu-snp',
      '  containers:',
      `  - {name: app, image: "${lab.a}/test/app:v1"}`,
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: plain}',
      'spec:',
      '  containers:',
      `  - {name: other, image: "${lab.a}/test/multi:v1"}`,
      '',
    ].join('\n'),
  );
  const out = join(dir, 'replacements.txt');
  const env = { ...process.env, HOME: dir, NODE_EXTRA_CA_CERTS: lab.caCert };
  const args = [
    '--log-level',
    'debug',
    'mirror',
    '-f',
    yaml,
    '--to',
    to,
    '--insecure-registry',
    lab.a,
    '--authfile',
    lab.authFile,
    '--replacements-out',
    out,
  ];
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, r.stderr);
  const expected = `${lab.a}/test/app:v1=${to}/test/app:v1@${seed.appV1}\n`;
  assert.equal(readFileSync(out, 'utf8'), expected);
  assert.equal(r.stdout, expected);
  assert.deepEqual(
    [...parseImageReplacements(readFileSync(out, 'utf8'))],
    [[`${lab.a}/test/app:v1`, `${to}/test/app:v1@${seed.appV1}`]],
  );
  assert.match(r.stderr, /copied 3 blob\(s\)/);
  assert.doesNotMatch(r.stderr, /test\/multi/);
  const again = await runCli(args, { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /copied 0 blob\(s\), 0 B; skipped 3 already present/);
  for (const o of [r, again]) {
    for (const secret of [lab.pass, Buffer.from(`${lab.user}:${lab.pass}`).toString('base64')]) {
      assert.ok(!o.stderr.includes(secret) && !o.stdout.includes(secret), 'a secret leaked into the output');
    }
  }
  // Pushing without target credentials fails with the registry's answer and a hint.
  const emptyAuth = join(dir, 'empty.json');
  writeFileSync(emptyAuth, '{}');
  const denied = await runCli(
    [
      'mirror',
      `${lab.a}/test/app:v1`,
      '--to',
      `${lab.b}/${runId()}`,
      '--insecure-registry',
      lab.a,
      '--authfile',
      emptyAuth,
    ],
    { env },
  );
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, new RegExp(`${escapeRegExp(lab.b)}.*401`));
  assert.match(denied.stderr, /log in/);
});

test('a 40 MiB layer: streamed monolithic PUT and chunked upload above the auto threshold', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const client = labClient(lab);
  t.after(() => client.close());
  // Build the source image on registry a with the push primitives.
  const source = { registry: lab.a, repository: `${runId()}/big` };
  const layer = randomBytes(40 << 20);
  const layerDesc = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    digest: digestOf(layer),
    size: layer.length,
  };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
    }),
  );
  const configDesc = { mediaType: mediaTypes.ociConfig, digest: digestOf(config), size: config.length };
  await uploadBlob(client.transport, source, layerDesc, async () => Readable.from([layer]), {
    mode: 'monolithic',
  });
  await uploadBlob(client.transport, source, configDesc, async () => Readable.from([config]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: configDesc,
      layers: [layerDesc],
    }),
  );
  await putManifest(client.transport, source, 'v1', manifest, mediaTypes.ociManifest, digestOf(manifest));
  const image = `${source.registry}/${source.repository}:v1`;

  const toB = `${lab.b}/${runId()}`;
  const auto = await mirrorImages(client, [image], {
    to: toB,
    upload: { chunkThreshold: 32 << 20, chunkSize: 16 << 20 },
  }); // auto → chunked
  assert.equal(auto.stats.bytesCopied, layer.length + config.length);
  await assertSameContent(lab, image, auto.images[0]!.target);
  const toC = `${lab.c}/${runId()}`;
  const mono = await mirrorImages(client, [image], { to: toC, upload: { mode: 'monolithic' } }); // streamed PUT
  assert.equal(mono.images[0]!.digest, digestOf(manifest));
  await assertSameContent(lab, image, mono.images[0]!.target);
});

test('CLI: Ctrl-C stops after the transfers in flight; the rerun skips what was copied', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const { spawn } = await import('node:child_process');
  const { cliNodeArgs } = await import('./helpers/cli.js');
  const to = `${lab.c}/${runId()}`;
  const args = [
    '--log-level',
    'debug',
    'mirror',
    `${lab.a}/test/multi:v1`,
    '--all-platforms',
    '--to',
    to,
    '--concurrency',
    '1',
    '--insecure-registry',
    lab.a,
    '--authfile',
    lab.authFile,
  ];
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: lab.caCert };
  const child = spawn(process.execPath, [...cliNodeArgs, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let signalled = false;
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    // The first finished blob upload (PUT …/blobs/uploads/… -> 201): interrupt.
    if (!signalled && /PUT \S+\/blobs\/uploads\/\S+ -> 201/.test(stderr)) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
  assert.ok(signalled, stderr);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /interrupted: finishing the transfers in flight/);
  assert.match(stderr, /mirror interrupted; run the same command again to resume/);
  const copied = Number(/so far: copied (\d+) blob/.exec(stderr)?.[1]);
  assert.ok(copied >= 1 && copied < 5, `copied ${copied} before stopping`);

  const again = await runCli(args.slice(2), { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`skipped ${copied} already present`));
  await assertSameContent(lab, `${lab.a}/test/multi:v1`, `${to}/test/multi:v1`);
});
