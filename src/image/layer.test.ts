import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Descriptor } from '../registry/types.js';
import { analyzeLayerStream } from './layer.js';
import { createProgress } from './progress.js';
import { entry, tar } from './testing/tar-builder.js';

const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const desc = (blob: Buffer, mediaType: string): Descriptor => ({
  mediaType,
  digest: sha(blob),
  size: blob.length,
});

/** Streams `b` in small irregular chunks, like a network body. */
function chunks(b: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0, n = 1; i < b.length; i += n, n = (n * 5 + 7) % 9000) parts.push(b.subarray(i, i + n));
  return Readable.from(parts);
}

const layer = tar(
  entry({ name: 'etc/', type: '5', mode: 0o755 }),
  entry({ name: 'etc/passwd' }, 'root:x:0:0::/:/bin/sh\n'),
  entry({ name: 'bin/big' }, randomBytes(300_000)),
);

test('gzip (multi-member), zstd (program and fzstd) and plain tar give the same analysis', async () => {
  const half = layer.length >> 1;
  const multi = Buffer.concat([gzipSync(layer.subarray(0, half)), gzipSync(layer.subarray(half))]);
  const results = [
    await analyzeLayerStream(chunks(multi), desc(multi, GZ), sha(layer), { verity: true }),
    await analyzeLayerStream(chunks(layer), desc(layer, TAR), sha(layer), { verity: true }),
  ];
  let hasZstd = true;
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
  } catch {
    hasZstd = false;
  }
  if (hasZstd) {
    const z = execFileSync('zstd', ['-q', '-c'], { input: layer });
    results.push(
      await analyzeLayerStream(chunks(z), desc(z, ZSTD), sha(layer), {
        verity: true,
        zstdDecoder: 'program',
      }),
    );
    results.push(
      await analyzeLayerStream(chunks(z), desc(z, ZSTD), sha(layer), { verity: true, zstdDecoder: 'fzstd' }),
    );
  }
  for (const r of results) {
    assert.equal(r.diffId, sha(layer));
    assert.equal(r.uncompressedSize, layer.length);
    assert.equal(r.verityRoot, results[0]!.verityRoot);
    assert.equal(r.users.passwd.content, 'root:x:0:0::/:/bin/sh\n');
  }
});

test('refusals: unknown media type, wrong size, tampered bytes, wrong diff_id', async () => {
  const gz = gzipSync(layer);
  await assert.rejects(
    analyzeLayerStream(chunks(gz), desc(gz, 'application/x-rar'), sha(layer)),
    /unsupported layer media type/,
  );
  await assert.rejects(
    analyzeLayerStream(chunks(gz), { ...desc(gz, GZ), size: gz.length - 1 }, sha(layer)),
    /larger than/,
  );
  await assert.rejects(
    analyzeLayerStream(chunks(gz), { ...desc(gz, GZ), size: gz.length + 1 }, sha(layer)),
    /has \d+ bytes/,
  );
  const tampered = Buffer.from(gz);
  tampered[100] = tampered[100]! ^ 1;
  // Same size, wrong bytes: reported as a digest mismatch, not as the decoding error it causes.
  await assert.rejects(
    analyzeLayerStream(chunks(tampered), desc(gz, GZ), sha(layer)),
    /content digest is sha256:.*tampered/,
  );
  await assert.rejects(
    analyzeLayerStream(chunks(gz), desc(gz, GZ), sha(Buffer.from('x'))),
    /diff_id .* but the image config says/,
  );
});

test('broken input: truncated gzip, truncated tar, garbage, decompression bomb, huge header', async () => {
  const gz = gzipSync(layer);
  const cut = gz.subarray(0, gz.length - 20);
  await assert.rejects(
    analyzeLayerStream(chunks(cut), desc(cut, GZ), sha(layer)),
    /cannot decompress \(gzip\)/,
  );
  const shortTar = gzipSync(layer.subarray(0, 2000));
  await assert.rejects(
    analyzeLayerStream(chunks(shortTar), desc(shortTar, GZ), sha(layer)),
    /truncated archive/,
  );
  const garbage = gzipSync(randomBytes(4096));
  await assert.rejects(
    analyzeLayerStream(chunks(garbage), desc(garbage, GZ), sha(layer)),
    /checksum mismatch/,
  );
  const bomb = gzipSync(Buffer.alloc(50 << 20));
  await assert.rejects(
    analyzeLayerStream(chunks(bomb), desc(bomb, GZ), sha(layer), { maxUncompressedSize: 10 << 20 }),
    /decompression bomb/,
  );
  const hugePax = Buffer.concat([
    tar(entry({ name: 'PaxHeaders/x', type: 'x' }, Buffer.alloc(2 << 20, 0x41))),
  ]);
  const hp = gzipSync(hugePax);
  await assert.rejects(
    analyzeLayerStream(chunks(hp), desc(hp, GZ), sha(hugePax)),
    /exceeds the 1048576-byte limit/,
  );
});

test('progress: bars go to the given TTY stream; plain mode writes summary lines; off writes nothing', () => {
  let written = '';
  const fake = {
    isTTY: true,
    columns: 100,
    write: (s: string) => ((written += s), true),
  } as unknown as NodeJS.WriteStream;
  const p = createProgress('tty', fake);
  const t = p.task('layer sha256:abc', 2048);
  t.update(1024);
  t.done();
  p.close();
  assert.match(written, /layer sha256:abc \[#+\] 2\.0 KiB\/2\.0 KiB done/);
  const off = createProgress('off', fake);
  written = '';
  off.task('x', 1).done();
  assert.equal(written, '');
});
