// Reads a tarfs index back (tests only): superblock, inode table, directory bodies and names.
import { TarReader } from '../../src/image/tar.js';
import { TarfsIndexBuilder, type TarfsOptions } from '../../src/image/tarfs.js';

export interface Inode {
  ino: number;
  mode: number;
  flags: number;
  hmtime: number;
  owner: number;
  group: number;
  lmtime: number;
  size: number;
  offset: number;
}

export interface Dirent {
  ino: number;
  nameOffset: number;
  name: string;
  type: number;
}

export function buildIndex(archive: Buffer, options: TarfsOptions = {}, chunk = 1000): Buffer {
  const builder = new TarfsIndexBuilder(options);
  const reader = new TarReader({ onEntry: (e) => (builder.add(e), 0) });
  for (let i = 0; i < archive.length; i += chunk) reader.write(archive.subarray(i, i + chunk));
  reader.end();
  return Buffer.concat([...builder.build(archive.length)]);
}

export function decode(file: Buffer): {
  tableOffset: number;
  inodes: Inode[];
  readDir: (ino: number) => Dirent[];
} {
  const sb = file.subarray(file.length - 512);
  const tableOffset = Number(sb.readBigUInt64LE(0));
  const count = Number(sb.readBigUInt64LE(8));
  const inodes: Inode[] = [];
  for (let i = 0; i < count; i++) {
    const o = tableOffset + i * 32;
    inodes.push({
      ino: i + 1,
      mode: file.readUInt16LE(o),
      flags: file.readUInt8(o + 2),
      hmtime: file.readUInt8(o + 3),
      owner: file.readUInt32LE(o + 4),
      group: file.readUInt32LE(o + 8),
      lmtime: file.readUInt32LE(o + 12),
      size: Number(file.readBigUInt64LE(o + 16)),
      offset: Number(file.readBigUInt64LE(o + 24)),
    });
  }
  const readDir = (ino: number): Dirent[] => {
    const d = inodes[ino - 1]!;
    const out: Dirent[] = [];
    for (let p = d.offset; p < d.offset + d.size; p += 32) {
      const nameOffset = Number(file.readBigUInt64LE(p + 8));
      const len = Number(file.readBigUInt64LE(p + 16));
      out.push({
        ino: Number(file.readBigUInt64LE(p)),
        nameOffset,
        name: file.toString('latin1', nameOffset, nameOffset + len),
        type: file.readUInt8(p + 24),
      });
      if (!file.subarray(p + 25, p + 32).equals(Buffer.alloc(7))) throw new Error('dirent padding not zero');
    }
    return out;
  };
  return { tableOffset, inodes, readDir };
}

/** Path → inode, following directory bodies from the root. */
export function lookup(file: Buffer, path: string): Inode | undefined {
  const { inodes, readDir } = decode(file);
  let cur = inodes[0]!;
  for (const c of path.split('/').filter(Boolean)) {
    const d = readDir(cur.ino).find((x) => x.name === c);
    if (!d) return undefined;
    cur = inodes[d.ino - 1]!;
  }
  return cur;
}
