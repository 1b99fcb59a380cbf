import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { entry, header, tar } from '../../test/fixtures/oci/tar.js';
import { TarReader, octal, plainOctal, type TarEntry } from './tar.js';

test('the allocation-free reading of an octal field agrees with the full one wherever it answers', () => {
  // Digits, the bytes trim() removes in latin1 (space, tab, LF, NBSP), NUL, and bytes that never parse.
  const alphabet = [0x30, 0x31, 0x37, 0x38, 0x39, 0x20, 0x09, 0x0a, 0xa0, 0x00, 0x41, 0x80, 0xff];
  fc.assert(
    fc.property(
      fc.constantFrom(8, 12),
      fc.array(fc.constantFrom(...alphabet), { minLength: 12, maxLength: 12 }),
      (len, bytes) => {
        const field = Buffer.from(bytes);
        const fast = plainOctal(field, 0, len);
        const full = octal(field, 0, len);
        if (fast >= 0) assert.equal(BigInt(fast), full, field.toString('hex'));
        else if (fast === -2) assert.equal(full, undefined, field.toString('hex'));
      },
    ),
    { numRuns: 5000 },
  );
  // Each answer occurs.
  assert.equal(plainOctal(Buffer.from(' 0755 \0xx'), 0, 8), 0o755);
  assert.equal(plainOctal(Buffer.from('0000644\0'), 0, 8), 0o644);
  assert.equal(plainOctal(Buffer.from('12345670'), 0, 8), 0o12345670);
  assert.equal(plainOctal(Buffer.alloc(8), 0, 8), -2);
  assert.equal(plainOctal(Buffer.from('\t755\0'), 0, 5), -1);
  assert.equal(octal(Buffer.from('\t755\0'), 0, 5), 0o755n);
});

function entries(archive: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  const r = new TarReader({ onEntry: (e) => (out.push(e), 0) });
  r.write(archive);
  r.end();
  return out;
}

/** A header with `bytes` written at `at` and its checksum made right again. */
function patched(h: Buffer, at: number, bytes: Buffer | string): Buffer {
  const b = Buffer.from(h);
  Buffer.from(bytes).copy(b, at);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  Buffer.from(sum.toString(8).padStart(6, '0') + '\0 ').copy(b, 148);
  return b;
}

test('numeric header fields: octal with odd spacing, empty device numbers, GNU base-256', () => {
  const base = header({ name: 'f', size: 0, magic: 'gnu', uid: 1000, gid: 100, mode: 0o4755 });
  const base256 = (v: bigint, len: number): Buffer => {
    const b = Buffer.alloc(len);
    for (let i = len - 1; i > 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
    b[0] = 0x80;
    return b;
  };
  let h = patched(base, 100, ' \t755 \0'); // a tab: read by the full path
  h = patched(h, 108, base256(0x1_0000_1234n, 8)); // uid: its low 32 bits
  h = patched(h, 136, base256(2n ** 40n + 5n, 12)); // mtime past 2^32
  h = patched(h, 329, Buffer.alloc(16)); // no device numbers
  const [e] = entries(tar(h));
  assert.equal(e!.mode, 0o755);
  assert.equal(e!.uid, 0x1234);
  assert.equal(e!.gid, 100);
  assert.equal(e!.mtime, 2n ** 40n + 5n);
  assert.equal(e!.devMajor, null);
  assert.equal(e!.devMinor, null);

  const [plain] = entries(
    tar(entry({ name: 'g', uid: 0o7777777, mtime: 1_700_000_000, devmajor: 8, devminor: 1 }, 'x')),
  );
  assert.equal(plain!.uid, 0o7777777);
  assert.equal(plain!.mtime, 1_700_000_000n);
  assert.equal(plain!.size, 1);
  assert.deepEqual([plain!.devMajor, plain!.devMinor], [8, 1]);

  // A size in base-256 is read; one past 2^53 is refused; an empty size field is refused.
  const sized = patched(header({ name: 's', magic: 'gnu' }), 124, base256(3n, 12));
  assert.equal(entries(Buffer.concat([sized, Buffer.alloc(512), Buffer.alloc(1024)]))[0]!.size, 3);
  const huge = patched(header({ name: 's', magic: 'gnu' }), 124, base256(2n ** 60n, 12));
  assert.throws(() => entries(tar(huge)), /member size too large/);
  const empty = patched(header({ name: 's' }), 124, Buffer.alloc(12));
  assert.throws(() => entries(tar(empty)), /size field does not parse/);
  // A checksum written with spaces before its digits still checks.
  const spaced = Buffer.from(header({ name: 'c' }));
  const digits = spaced.toString('latin1', 148, 154);
  Buffer.from(` ${digits.slice(1)}\0 `).copy(spaced, 148);
  assert.equal(entries(tar(spaced)).length, 1);
});
