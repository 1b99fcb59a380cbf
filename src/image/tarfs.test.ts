import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { test } from 'node:test';
import { entry, gnuLong, header, pax, tar } from '../../test/fixtures/oci/tar.js';
import { buildIndex, decode, lookup } from '../../test/helpers/tarfs-decoder.js';

// File type bits as the OS defines them (inode mode), not the values tarfs.ts uses.
const { S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO } = constants;

function full(archive: Buffer, options = {}): Buffer {
  return Buffer.concat([archive, buildIndex(archive, options)]);
}

test('exact byte layout of a one-file archive', () => {
  const archive = tar(entry({ name: 'f', mode: 0o4755, uid: 7, gid: 8, mtime: 0x1_2345_6789 }, 'hello'));
  const idx = buildIndex(archive);
  const T = archive.length; // 512 header + 512 data + 1024 end = 2048
  assert.equal(T, 2048);
  // 2 inodes (64) + root body (32) + name "f" (1) → names end at T+97; E = roundup(T+97+1, 4096) = 4096.
  const expected = Buffer.alloc(4096 + 4096 - T);
  const at = (abs: number) => abs - T;
  // inode 1: root dir r-xr-xr-x, body at T+64, one entry
  expected.writeUInt16LE(S_IFDIR | 0o555, at(T));
  expected.writeBigUInt64LE(32n, at(T + 16));
  expected.writeBigUInt64LE(BigInt(T + 64), at(T + 24));
  // inode 2: the file; setuid dropped, hmtime = bits 32..35 of mtime, data right after its header
  expected.writeUInt16LE(S_IFREG | 0o755, at(T + 32));
  expected.writeUInt8(1, at(T + 35));
  expected.writeUInt32LE(7, at(T + 36));
  expected.writeUInt32LE(8, at(T + 40));
  expected.writeUInt32LE(0x2345_6789, at(T + 44));
  expected.writeBigUInt64LE(5n, at(T + 48));
  expected.writeBigUInt64LE(512n, at(T + 56));
  // dirent: ino 2, name at T+96, len 1, type REG
  expected.writeBigUInt64LE(2n, at(T + 64));
  expected.writeBigUInt64LE(BigInt(T + 96), at(T + 72));
  expected.writeBigUInt64LE(1n, at(T + 80));
  expected.writeUInt8(8, at(T + 88));
  expected.write('f', at(T + 96), 'latin1');
  // superblock at E + 3584
  expected.writeBigUInt64LE(BigInt(T), at(4096 + 3584));
  expected.writeBigUInt64LE(2n, at(4096 + 3592));
  assert.equal(idx.length, expected.length);
  assert.ok(idx.equals(expected));
});

test('directories, files, symlinks, hard links, devices, fifos; BFS numbering in byte order', () => {
  const archive = tar(
    entry({ name: './', type: '5', mode: 0o755 }),
    entry({ name: './b/', type: '5', mode: 0o700, uid: 1, gid: 2 }),
    entry({ name: './b/z', mode: 0o600 }, 'zz'),
    entry({ name: './a', mode: 0o644 }, 'aaa'),
    entry({ name: './B', type: '2', linkname: 'a', mode: 0o777 }),
    entry({ name: './b/h', type: '1', linkname: './a' }),
    entry({ name: './c', type: '3', devmajor: 5, devminor: 1 }),
    entry({ name: './k', type: '4', devmajor: 8, devminor: 3 }),
    entry({ name: './p', type: '6' }),
  );
  const f = full(archive);
  const { inodes, readDir, tableOffset } = decode(f);
  assert.equal(tableOffset, archive.length);
  const root = readDir(1);
  // bytewise order: 'B' (0x42) < 'a' < 'b' < 'c' < 'k' < 'p'
  assert.deepEqual(
    root.map((d) => [d.name, d.ino, d.type]),
    [
      ['B', 2, 10],
      ['a', 3, 8],
      ['b', 4, 4],
      ['c', 5, 2],
      ['k', 6, 6],
      ['p', 7, 1],
    ],
  );
  assert.equal(inodes[0]!.mode, S_IFDIR | 0o755, 'the ./ entry resets the root in place');
  const sym = inodes[1]!;
  assert.equal(sym.mode, S_IFLNK | 0o777);
  assert.equal(sym.size, 1);
  assert.equal(
    f.toString('latin1', sym.offset, sym.offset + sym.size),
    'a',
    'symlink offset points at the linkname field',
  );
  const a = inodes[2]!;
  assert.equal(f.toString('latin1', a.offset, a.offset + a.size), 'aaa');
  const b = readDir(4);
  assert.deepEqual(
    b.map((d) => [d.name, d.ino]),
    [
      ['h', 3],
      ['z', 8],
    ],
    'hard link shares the inode of its target',
  );
  assert.equal(inodes[3]!.owner, 1);
  assert.equal(inodes[3]!.group, 2);
  assert.equal(inodes[4]!.mode, S_IFCHR | 0o644);
  assert.equal(inodes[4]!.offset, 5 * 2 ** 32 + 1);
  assert.equal(inodes[5]!.mode, S_IFBLK | 0o644);
  assert.equal(inodes[6]!.mode, S_IFIFO | 0o644);
  assert.equal(inodes.length, 8);
  assert.equal(f.length % 4096, 0);
});

test('GNU long names and PAX paths are honoured; long symlink targets are skipped', () => {
  const long = 'd'.repeat(120) + '/' + 'f'.repeat(150);
  const archive = tar(
    entry({ name: 'd'.repeat(120).slice(0, 99) + '/', type: '5', mode: 0o755 }),
    gnuLong('L', 'd'.repeat(120) + '/'),
    entry({ name: 'ignored', type: '5', mode: 0o755, magic: 'gnu' }),
    gnuLong('L', long),
    entry({ name: 'trunc', magic: 'gnu' }, 'long'),
    entry({ name: 'p/', type: '5', mode: 0o755 }),
    entry({ name: 'q/x' }, 'orphan'),
    pax({ path: 'p/x' }),
    entry({ name: 'p/' + 'y', mode: 0o644 }, 'pax'),
    gnuLong('K', 't'.repeat(200)),
    entry({ name: 'lnk', type: '2', linkname: 't'.repeat(100), magic: 'gnu' }),
    pax({ linkpath: 'same' }),
    entry({ name: 'lnk2', type: '2', linkname: 'same' }),
  );
  const f = full(archive);
  const file = lookup(f, long);
  assert.ok(file);
  assert.equal(f.toString('latin1', file.offset, file.offset + file.size), 'long');
  const px = lookup(f, 'p/x');
  assert.ok(px, 'PAX path wins over the header name');
  assert.equal(lookup(f, 'p/y'), undefined);
  assert.equal(lookup(f, 'q')!.mode, 0, 'parents that never appear get mode 0');
  assert.equal(lookup(f, 'q/x'), undefined, 'and their children are unreachable');
  assert.equal(
    lookup(f, 'lnk'),
    undefined,
    'symlink with a K target differing from the header field is skipped',
  );
  assert.equal(lookup(f, 'lnk2')!.mode, S_IFLNK | 0o644);
});

test('paths: "." and "" dropped, ".." pops, escaping entries skipped', () => {
  const archive = tar(
    entry({ name: 'x/', type: '5', mode: 0o755 }),
    entry({ name: 'x/../y' }, '1'),
    entry({ name: '../evil' }, '2'),
    entry({ name: 'x/../../evil2' }, '3'),
    entry({ name: '/abs//./z' }, '4'),
  );
  const f = full(archive);
  const names = decode(f)
    .readDir(1)
    .map((d) => d.name);
  assert.deepEqual(names, ['abs', 'x', 'y']);
});

test('whiteouts and opaque markers; later entries replace earlier ones and drop children', () => {
  const archive = tar(
    entry({ name: 'd/', type: '5', mode: 0o755 }),
    entry({ name: 'd/old' }, 'o'),
    entry({ name: 'd/.wh..wh..opq' }),
    entry({ name: 'e/', type: '5', mode: 0o711, uid: 3 }),
    entry({ name: 'e/kid' }, 'k'),
    entry({ name: '.wh.e' }),
    entry({ name: '.wh.gone' }),
    entry({ name: 'r/', type: '5', mode: 0o755 }),
    entry({ name: 'r/kid' }, 'k'),
    entry({ name: 'r', mode: 0o600 }, 'now a file'),
    entry({ name: '.wh.' }),
  );
  const f = full(archive);
  assert.equal(lookup(f, 'd')!.flags, 1);
  assert.ok(lookup(f, 'd/old'), 'opaque marker hides lower layers only');
  const e = lookup(f, 'e')!;
  assert.equal(e.mode, S_IFCHR | 0o711, 'whiteout keeps permission bits of an existing entry');
  assert.equal(e.owner, 3);
  assert.equal(e.size, 0);
  assert.equal(lookup(f, 'gone')!.mode, S_IFCHR, 'new whiteout target has permission 0');
  const r = lookup(f, 'r')!;
  assert.equal(r.mode, S_IFREG | 0o600);
  const names = decode(f)
    .readDir(1)
    .map((d) => d.name);
  assert.deepEqual(names, ['', 'd', 'e', 'gone', 'r']);
  // r's old child is gone: 6 entries under root/d plus root itself
  assert.equal(decode(f).inodes.length, 7);
});

test('hard links: non-regular targets skipped (but their path is created); empty name replaces the root', () => {
  const a1 = tar(
    entry({ name: 'dir/', type: '5', mode: 0o755 }),
    entry({ name: 'h', type: '1', linkname: 'dir' }),
    entry({ name: 'h2', type: '1', linkname: 'm/n' }),
  );
  const f1 = full(a1);
  assert.equal(lookup(f1, 'h'), undefined);
  assert.equal(lookup(f1, 'm')!.mode, 0, 'resolving the target created missing components');
  const a2 = tar(entry({ name: 'f' }, 'data'), entry({ name: './', type: '1', linkname: 'f' }));
  const f2 = full(a2);
  assert.equal(decode(f2).inodes[0]!.mode, S_IFREG | 0o644);
});

test('a hard-link cycle is refused instead of looping', () => {
  const archive = tar(entry({ name: 'f' }, 'x'), entry({ name: 'f/loop', type: '1', linkname: 'f' }));
  assert.throws(() => buildIndex(archive, { maxEntries: 100 }), /cycle/);
});

test('the archive ends at the first zero block; later bytes count toward tar_size', () => {
  const archive = Buffer.concat([
    tar(entry({ name: 'a' }, '1')),
    entry({ name: 'b' }, '2'),
    Buffer.alloc(100, 7),
  ]);
  const idx = buildIndex(archive);
  const f = Buffer.concat([archive, idx]);
  assert.equal(decode(f).tableOffset, archive.length);
  assert.deepEqual(
    decode(f)
      .readDir(1)
      .map((d) => d.name),
    ['a'],
  );
});

test('PAX uid/gid used by default, ignored with paxOwners=false; unparsable mode skips the entry', () => {
  const archive = tar(
    pax({ uid: '123456', gid: '654321' }),
    entry({ name: 'o', uid: 1, gid: 2 }, 'x'),
    entry({ name: 'bad', mode: 'zz' }, 'y'),
  );
  assert.equal(lookup(full(archive), 'o')!.owner, 123456);
  assert.equal(lookup(full(archive), 'o')!.group, 654321);
  assert.equal(lookup(full(archive, { paxOwners: false }), 'o')!.owner, 1);
  assert.equal(lookup(full(archive), 'bad'), undefined);
});

test('extension headers only count under ustar/GNU magic; v7 devices are skipped', () => {
  const v7x = Buffer.concat([header({ name: 'x', type: 'x', size: 0, magic: 'v7' })]);
  const archive = tar(
    v7x,
    entry({ name: 'plain', magic: 'v7' }, 'p'),
    entry({ name: 'dev', type: '3', magic: 'v7' }),
  );
  const f = full(archive);
  assert.ok(lookup(f, 'plain'));
  assert.equal(lookup(f, 'x'), undefined, 'unknown type x skipped');
  assert.equal(lookup(f, 'dev'), undefined);
});

test('tar errors abort: bad checksum, truncation, dangling or doubled extension headers, huge headers', () => {
  assert.throws(() => buildIndex(tar(header({ name: 'a', checksum: 1 }))), /checksum/);
  assert.throws(() => buildIndex(entry({ name: 'a' }, 'abc').subarray(0, 700)), /truncated/);
  assert.throws(() => buildIndex(entry({ name: 'a' }).subarray(0, 100)), /truncated/);
  assert.throws(() => buildIndex(tar(gnuLong('L', 'x'))), /extension header/);
  assert.throws(() => buildIndex(gnuLong('L', 'x')), /extension header/);
  assert.throws(() => buildIndex(tar(gnuLong('L', 'x'), gnuLong('L', 'y'), entry({ name: 'a' }))), /two 'L'/);
  const huge = header({ name: 'h', type: 'x', size: 1 << 30 });
  assert.throws(() => buildIndex(Buffer.concat([huge, Buffer.alloc(512)])), /exceeds/);
});
