import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { VerityHasher, verityRoot } from './verity.js';

const ZEROS64 = '0'.repeat(64);

function keystream(label: string, n: number): Buffer {
  const h = createHash('sha256').update(`registry-lab-${label}`).digest();
  return createCipheriv('aes-128-ctr', h.subarray(0, 16), h.subarray(16)).update(Buffer.alloc(n));
}

function hasVeritysetup(): boolean {
  try {
    execFileSync('veritysetup', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function veritysetupRoot(data: Uint8Array, dir: string): string {
  const d = join(dir, 'data');
  const h = join(dir, 'hash');
  writeFileSync(d, data);
  rmSync(h, { force: true });
  const out = execFileSync('veritysetup', ['format', '--no-superblock', `--salt=${ZEROS64}`, d, h], {
    encoding: 'utf8',
  });
  const m = /^Root hash:\s+([0-9a-f]{64})$/m.exec(out);
  assert.ok(m, `no root hash in veritysetup output:\n${out}`);
  return m[1]!;
}

test('dm-verity lab vectors (zero salt)', () => {
  assert.equal(
    verityRoot(keystream('1', 4096)),
    '0a11bd7658a5f1c0dac1ae1fcc86f7a029ee7977df44a41acaff9fde8ee0c9d0',
  );
  assert.equal(
    verityRoot(keystream('300', 300 * 4096)),
    '0008bf9267888d98b468c27b88a840fca7c82eefbd5a62cf0b897afb3defecd0',
  );
  assert.equal(
    verityRoot(keystream('16385', 16385 * 4096)),
    '4325b08c298933e284a52e683c0afebd11bf0247f3b02955aac3350d3773c4f6',
  );
  assert.equal(
    verityRoot(Buffer.alloc(1 << 20)),
    'bef46122f85025cf37061b16c04e2a19960a5bbcdbb656b5e91ae7927c0ad807',
  );
  assert.equal(
    verityRoot(keystream('300', 5000)),
    'ca620c132f3013fb870c44681948713bc573b40a778ac2d6e5b8e45e255b3808',
  );
});

test('dm-verity lab vectors (empty salt)', () => {
  const empty = new Uint8Array(0);
  assert.equal(
    verityRoot(keystream('1', 4096), empty),
    '3aa6d9c0f6621b4e343214476c02db290def37339078f3ad53464aab9885ea92',
  );
  assert.equal(
    verityRoot(keystream('300', 300 * 4096), empty),
    'cb9c1e84959edc2c63287b9b6957384789b480bc1d99f10438cb9fd1899f49cc',
  );
});

test('dm-verity equals veritysetup on random/zero data, odd chunking, partial blocks', (t) => {
  if (!hasVeritysetup()) return t.skip('veritysetup not installed (Debian cryptsetup-bin)');
  const dir = mkdtempSync(join(tmpdir(), 'verity-'));
  try {
    for (const blocks of [1, 2, 128, 129, 16385]) {
      for (const extra of [0, 1, 4095]) {
        for (const kind of ['random', 'zero'] as const) {
          if (blocks === 16385 && extra === 1) continue; // keep the run short; 16385 covered by 0 and 4095
          const size = blocks * 4096 + extra;
          const data = kind === 'random' ? randomBytes(size) : Buffer.alloc(size);
          const want = veritysetupRoot(data, dir);
          // Feed in irregular chunks so block boundaries fall inside chunks.
          const v = new VerityHasher();
          let pos = 0;
          let step = 1;
          while (pos < size) {
            const n = Math.min(size - pos, step);
            v.update(data.subarray(pos, pos + n));
            pos += n;
            step = (step * 7 + 13) % 70001;
          }
          assert.equal(v.digest(), want, `${kind} ${blocks} blocks + ${extra} bytes`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dm-verity refuses less than one block', () => {
  assert.throws(() => verityRoot(Buffer.alloc(4095)), /at least one full 4096-byte block/);
});
