import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { GzipInflate, MAX_GZIP_HEADER, gzipHeaderLength } from './gzip.js';

interface Decoded {
  out?: Buffer;
  err?: Error;
  /** Chunks whose `done` ran, in order, and how many were written. */
  done: number[];
  written: number;
}

/**
 * Feeds `blob` to a GzipInflate in pieces of the given sizes (cycled), optionally pausing the output
 * now and then, as a layer pass does under back-pressure.
 */
function decode(blob: Uint8Array, sizes: number[] = [blob.length || 1], pauses = false): Promise<Decoded> {
  return new Promise((resolve) => {
    const z = new GzipInflate(64 * 1024);
    const out: Buffer[] = [];
    const done: number[] = [];
    let n = 0;
    z.on('data', (b: Buffer) => {
      out.push(Buffer.from(b));
      if (pauses && n++ % 3 === 0) {
        z.pause();
        setTimeout(() => z.resume(), 1);
      }
    });
    let written = 0;
    z.on('end', () => resolve({ out: Buffer.concat(out), done, written }));
    z.on('error', (err: Error) => resolve({ err, done, written }));
    let off = 0;
    for (let i = 0; off < blob.length; i++) {
      const len = Math.max(1, sizes[i % sizes.length]!);
      z.write(blob.subarray(off, off + len), () => done.push(i));
      off += len;
      written++;
    }
    z.end();
  });
}

/** What Node's own gunzip makes of `blob`. */
function reference(blob: Uint8Array): { out?: Buffer; err?: string } {
  try {
    return { out: gunzipSync(blob) };
  } catch (err) {
    return { err: (err as Error).message };
  }
}

/** A gzip member with the optional header fields set, built by hand (RFC 1952). */
function member(
  data: Buffer,
  fields: { extra?: Buffer; name?: string; comment?: string; hcrc?: boolean } = {},
): Buffer {
  const flags =
    (fields.hcrc ? 2 : 0) |
    (fields.extra ? 4 : 0) |
    (fields.name !== undefined ? 8 : 0) |
    (fields.comment !== undefined ? 16 : 0);
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3])];
  if (fields.extra) {
    const len = Buffer.alloc(2);
    len.writeUInt16LE(fields.extra.length);
    parts.push(len, fields.extra);
  }
  if (fields.name !== undefined) parts.push(Buffer.from(`${fields.name}\0`, 'latin1'));
  if (fields.comment !== undefined) parts.push(Buffer.from(`${fields.comment}\0`, 'latin1'));
  if (fields.hcrc) {
    const h = Buffer.alloc(2);
    h.writeUInt16LE(crc32(Buffer.concat(parts)) & 0xffff);
    parts.push(h);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([...parts, deflateRawSync(data), trailer]);
}

const text = Buffer.from('contrast '.repeat(20_000));
const noise = randomBytes(300_000);

test('decodes what gzip writes, in any chunking, like Node gunzip', async () => {
  const cases: Array<[string, Buffer]> = [
    ['gzipSync', gzipSync(Buffer.concat([text, noise]))],
    ['empty content', gzipSync(Buffer.alloc(0))],
    [
      'all header fields',
      member(text, { extra: randomBytes(300), name: 'layer.tar', comment: 'c', hcrc: true }),
    ],
    ['two members', Buffer.concat([gzipSync(text), gzipSync(noise)])],
    [
      'three members, one empty',
      Buffer.concat([gzipSync(noise), gzipSync(Buffer.alloc(0)), member(text, { name: 'x' })]),
    ],
    ['zero padding after the member', Buffer.concat([gzipSync(text), Buffer.alloc(1000)])],
    // Node stops at a zero byte after a member: the member after the padding is not read.
    ['a member after zero padding', Buffer.concat([gzipSync(text), Buffer.alloc(3), gzipSync(noise)])],
  ];
  for (const [name, blob] of cases) {
    const want = reference(blob);
    assert.ok(want.out, name);
    for (const sizes of [[blob.length], [1], [7, 1, 4096], [65_536], [10, 300_000]]) {
      if (sizes[0] === 1 && blob.length > 20_000) continue;
      const got = await decode(blob, sizes, sizes.length === 1 && sizes[0] === 65_536);
      assert.equal(got.err, undefined, `${name} ${sizes}: ${got.err?.message}`);
      assert.ok(got.out!.equals(want.out), `${name} ${sizes}`);
      // Every chunk is given back, in order.
      assert.deepEqual(
        got.done,
        Array.from({ length: got.written }, (_, i) => i),
        `${name} ${sizes}`,
      );
    }
  }
});

test('every chunk is given back, also those after the member ends and those a second member reads', async () => {
  const blob = Buffer.concat([gzipSync(noise), gzipSync(text), Buffer.alloc(5)]);
  const sizes = [4096];
  const got = await decode(blob, sizes);
  assert.ok(got.out!.equals(Buffer.concat([noise, text])));
  assert.deepEqual(
    got.done,
    Array.from({ length: Math.ceil(blob.length / 4096) }, (_, i) => i),
  );
});

/**
 * Feeds `blob` cut at `cuts` as a network would: the next chunk once one of the `inFlight` written
 * before it is given back. Counts the chunks written after zlib said where the first member ended but
 * before it gave back every chunk written to it (read from the decoder's private state: the window is
 * internal).
 */
function decodePaced(
  blob: Uint8Array,
  cuts: number[],
  inFlight: number,
): Promise<{ out?: Buffer; err?: Error; inWindow: number }> {
  return new Promise((resolve) => {
    const z = new GzipInflate(64 * 1024);
    const state = z as unknown as { memberDone: boolean; rawCalls: number };
    const out: Buffer[] = [];
    let inWindow = 0;
    z.on('data', (b: Buffer) => out.push(Buffer.from(b)));
    z.on('end', () => resolve({ out: Buffer.concat(out), inWindow }));
    z.on('error', (err: Error) => resolve({ err, inWindow }));
    const bounds = [0, ...cuts, blob.length];
    let i = 0;
    const next = (): void => {
      if (i >= bounds.length - 1) return;
      if (state.memberDone && state.rawCalls > 0) inWindow++;
      const c = blob.subarray(bounds[i]!, bounds[i + 1]!);
      i++;
      z.write(c, () => setImmediate(next));
      if (i === bounds.length - 1) z.end();
    };
    for (let k = 0; k < inFlight; k++) next();
  });
}

test('chunks written while the first member\u2019s end is being found wait their turn', async () => {
  // The first member's trailer is cut in two: its first bytes come back at once with the chunk the
  // deflate data ends in, the next chunk's write is still with zlib, and a third chunk arrives.
  const first = gzipSync(noise);
  const second = gzipSync(noise.subarray(0, 50_000));
  const blob = Buffer.concat([first, second, Buffer.alloc(4)]);
  const L = first.length;
  const cuts = [100_000, 200_000, L - 5, L + 20, L + 1000, L + 5000, L + 9000];
  const got = await decodePaced(blob, cuts, 3);
  assert.equal(got.err, undefined, got.err?.message);
  assert.ok(got.out!.equals(Buffer.concat([noise, noise.subarray(0, 50_000)])));
  assert.ok(got.inWindow > 0, 'no chunk was written in the window this test is about');
});

test('random chunkings of random multi-member streams decode like Node gunzip', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 20_000 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      async (members, sizes, pauses) => {
        const blob = Buffer.concat(members.map((m) => gzipSync(m)));
        const got = await decode(blob, sizes, pauses);
        assert.equal(got.err, undefined);
        assert.ok(got.out!.equals(Buffer.concat(members)));
      },
    ),
    { numRuns: 60 },
  );
});

test('refuses what Node gunzip refuses, with zlib\u2019s words', async () => {
  const good = gzipSync(text);
  const flip = (b: Buffer, at: number, mask = 1): Buffer => {
    const c = Buffer.from(b);
    c[at] = c[at]! ^ mask;
    return c;
  };
  const withHcrc = member(text, { name: 'n', hcrc: true });
  const cases: Array<[string, Buffer, RegExp]> = [
    ['no input', Buffer.alloc(0), /unexpected end of file/],
    ['bad magic', flip(good, 1), /incorrect header check/],
    ['bad method', flip(good, 2), /unknown compression method/],
    ['reserved flag', flip(good, 3, 0x20), /unknown header flags set/],
    ['header crc', flip(withHcrc, 12), /header crc mismatch/],
    ['cut in the header', good.subarray(0, 6), /unexpected end of file/],
    ['cut in the data', good.subarray(0, good.length - 100), /unexpected end of file/],
    ['cut in the trailer', good.subarray(0, good.length - 3), /unexpected end of file/],
    ['no trailer', good.subarray(0, good.length - 8), /unexpected end of file/],
    ['wrong length', flip(good, good.length - 2), /incorrect length check/],
    ['garbage after the member', Buffer.concat([good, Buffer.from('garbage')]), /incorrect header check/],
    ['a second member cut short', Buffer.concat([good, good.subarray(0, 40)]), /unexpected end of file/],
    [
      'bad data in a second member',
      Buffer.concat([good, flip(good, good.length - 6)]),
      /incorrect data check/,
    ],
    ['corrupt deflate data', flip(good, 20, 0xff), /invalid|incorrect|distance|code/],
  ];
  for (const [name, blob, re] of cases) {
    const want = reference(blob);
    assert.ok(want.err, `${name}: Node gunzip accepts it`);
    for (const sizes of [[blob.length || 1], [3], [1000]]) {
      const got = await decode(blob, sizes);
      assert.ok(got.err, `${name} ${sizes}: accepted`);
      assert.match(got.err.message, re, name);
      assert.match(want.err, re, `${name}: Node says ${want.err}`);
    }
  }
});

test('the first member\u2019s CRC-32 is not checked (the layer pass checks the SHA-256 of the same bytes), its length is', async () => {
  const good = gzipSync(text);
  const badCrc = Buffer.from(good);
  badCrc[good.length - 8] = badCrc[good.length - 8]! ^ 1;
  assert.match(reference(badCrc).err!, /incorrect data check/);
  const got = await decode(badCrc, [4096]);
  assert.ok(got.out!.equals(text));
});

test('a header that never ends is refused, not buffered', async () => {
  const endless = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3]),
    Buffer.alloc(MAX_GZIP_HEADER + 10, 0x41),
  ]);
  const got = await decode(endless, [256 * 1024]);
  assert.match(got.err!.message, /gzip header longer than/);
  assert.equal(gzipHeaderLength(endless.subarray(0, 100)), undefined);
});

test('destroy stops the decoder quietly: close, and neither end nor error', async () => {
  const z = new GzipInflate(64 * 1024);
  const events: string[] = [];
  for (const e of ['end', 'error', 'close']) z.on(e, () => events.push(e));
  z.write(gzipSync(noise).subarray(0, 1000), () => {});
  z.destroy();
  z.end();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events, ['close']);
});
