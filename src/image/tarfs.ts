// The tarfs index that tardev-snapshotter appends to a layer's decompressed tar (rev 06183a5, the
// whiteout-aware 4096-aligned variant), built from the tar entries as they stream past. The dm-verity
// root of tar ‖ index is what tarfs-era policies pin. Layout and edge cases: docs/policy-generation.md §6.
import { ContrastError } from '../internal/errors.js';
import { pathComponents, type TarEntry } from './tar.js';

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const OPAQUE = 1;

export interface TarfsOptions {
  /** Use PAX `uid`/`gid` for owner/group (genpolicy ≥ 3.9.0, tar crate ≥ 0.4.41). Default true. */
  paxOwners?: boolean;
  /** Refuse layers with more tar members than this (bounds memory). Default 2,000,000. */
  maxEntries?: number;
  /** Memory budget shared by every index being built at once. Default: `defaultIndexBudget`. */
  budget?: IndexBudget;
}

/**
 * Estimated heap bytes of one index node while the tree exists and while `build` walks it (node
 * object, its parent's Map slot, BFS arrays and maps, table and dirent rows), on top of its name.
 * Measured on Node 20: ~180 B per node in a flat tree, ~290 B in a deep chain (a Map per
 * directory); `build` roughly doubles that at its peak.
 */
export const INDEX_BYTES_PER_NODE = 600;

/**
 * A byte budget for tarfs indexes across all layers in flight. The entry limit alone does not bound
 * memory: a 3 KB gzip layer of a few PAX headers with 1 MiB paths of `a/a/a/…` creates 1.5 M nested
 * directories (~1 GiB of index), and several such layers at once exhaust the heap. Every node
 * reserves an estimate here; a layer that would exceed the budget fails with LAYER_LIMIT.
 */
export class IndexBudget {
  /**
   * Bytes in use, in shared memory: layer passes run on worker threads (layer-worker.ts), and the
   * budget bounds the whole process, so every thread reserves in the same counter.
   */
  private readonly used: BigInt64Array;
  /**
   * What this view of the budget holds, when it is one pass's view on a worker thread: shared with the
   * main thread, which returns it to `used` when that worker dies mid-pass (its own release never
   * comes).
   */
  private readonly held: BigInt64Array | undefined;
  constructor(
    readonly maxBytes: number,
    /** The counter of an existing budget (a worker thread rebuilding the main thread's budget). */
    shared?: SharedArrayBuffer,
    /** One pass's own counter (see `held`). */
    heldShared?: SharedArrayBuffer,
  ) {
    this.used = new BigInt64Array(shared ?? new SharedArrayBuffer(8));
    this.held = heldShared ? new BigInt64Array(heldShared) : undefined;
  }

  /**
   * Returns what a pass's view (built with `heldShared`) still holds, as a dead worker cannot: the
   * main thread calls this with the same counter after the worker is gone.
   */
  releaseHeld(heldShared: SharedArrayBuffer): void {
    const held = Atomics.exchange(new BigInt64Array(heldShared), 0, 0n);
    if (held > 0n) this.release(Number(held));
  }

  /** The shared counter, to hand this budget to a worker thread. */
  get shared(): SharedArrayBuffer {
    return this.used.buffer as SharedArrayBuffer;
  }

  get inUse(): number {
    return Number(Atomics.load(this.used, 0));
  }

  /** Reserves `n` bytes, or throws (naming the limit) when that would exceed the budget. */
  reserve(n: number, ownBytes: number): void {
    for (;;) {
      const was = Atomics.load(this.used, 0);
      const used = Number(was);
      if (used + n > this.maxBytes) {
        const mib = (b: number): string => `${Math.ceil(b / 2 ** 20)} MiB`;
        const others = used - ownBytes;
        throw new ContrastError(
          `tarfs index needs more than ${mib(ownBytes + n)} of memory` +
            (others > 0 ? ` (${mib(others)} held by other layers being analysed)` : '') +
            `; the index budget for all layers in flight is ${mib(this.maxBytes)}; refusing to index it`,
          {
            code: 'LAYER_LIMIT',
            hint: 'a legitimate layer this large is unusual; lower --concurrency or raise maxIndexBytes',
          },
        );
      }
      // Another thread may have reserved in between: retry with its figure.
      if (Atomics.compareExchange(this.used, 0, was, was + BigInt(n)) === was) {
        if (this.held) Atomics.add(this.held, 0, BigInt(n));
        return;
      }
    }
  }

  release(n: number): void {
    if (this.held) Atomics.sub(this.held, 0, BigInt(n));
    for (;;) {
      const was = Atomics.load(this.used, 0);
      const next = was > BigInt(n) ? was - BigInt(n) : 0n;
      if (Atomics.compareExchange(this.used, 0, was, next) === was) return;
    }
  }
}

/** The process-wide budget (512 MiB ≈ 870 k index nodes across all layers in flight). */
export const defaultIndexBudget = new IndexBudget(512 * 2 ** 20);

class Node {
  mode = 0;
  flags = 0;
  owner = 0;
  group = 0;
  mtimeHi = 0;
  mtimeLo = 0;
  size = 0;
  offset = 0;
  children: Map<string, Node> | null = null;
  // Set by build(): the inode number, the sorted names of the children, and the directory body.
  ino = 0;
  names: string[] | null = null;
  bodyOffset = -1;
}

/** Path components of the raw bytes read as latin1 (so every byte survives); null if it escapes. */
function clean(path: Buffer): string[] | null {
  return pathComponents(path.toString('latin1'));
}

/** A u64, little-endian, of a value a double holds exactly (no BigInt: see build). */
function setU64(v: DataView, at: number, value: number): void {
  v.setUint32(at, value % 0x1_0000_0000, true);
  v.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

function direntType(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFIFO:
      return 1;
    case S_IFCHR:
      return 2;
    case S_IFDIR:
      return 4;
    case S_IFBLK:
      return 6;
    case S_IFREG:
      return 8;
    case S_IFLNK:
      return 10;
    case S_IFSOCK:
      return 12;
    default:
      return 0;
  }
}

export class TarfsIndexBuilder {
  private root = new Node();
  private readonly paxOwners: boolean;
  private readonly maxEntries: number;
  private entries = 0;
  private readonly budget: IndexBudget;
  /** Bytes reserved in `budget` by this builder (returned by `release`). */
  private reserved = 0;
  private built = false;

  constructor(options: TarfsOptions = {}) {
    this.root.mode = S_IFDIR | 0o555;
    this.paxOwners = options.paxOwners ?? true;
    this.maxEntries = options.maxEntries ?? 2_000_000;
    this.budget = options.budget ?? defaultIndexBudget;
  }

  /** Counts one more name in the index against the entry limit and the memory budget. */
  private account(name: string): void {
    if (++this.entries > this.maxEntries) {
      throw new ContrastError(`layer has more than ${this.maxEntries} tar entries; refusing to index it`, {
        code: 'LAYER_LIMIT',
      });
    }
    const cost = INDEX_BYTES_PER_NODE + name.length;
    this.budget.reserve(cost, this.reserved);
    this.reserved += cost;
  }

  /** Returns this builder's reservation to the budget (after `build`, or when the layer fails). */
  release(): void {
    this.budget.release(this.reserved);
    this.reserved = 0;
  }

  private child(parent: Node, name: string): Node {
    parent.children ??= new Map();
    let n = parent.children.get(name);
    if (!n) {
      this.account(name);
      n = new Node();
      parent.children.set(name, n);
    }
    return n;
  }

  /** The node at the first `depth` components of `comps` (all of them by default), made as needed. */
  private lookup(comps: readonly string[], depth = comps.length): Node {
    let n = this.root;
    for (let i = 0; i < depth; i++) n = this.child(n, comps[i]!);
    return n;
  }

  add(e: TarEntry): void {
    const known = '\x000123456';
    if (!known.includes(e.type)) return;
    if (e.mode === null) return;
    const comps = clean(e.path);
    if (comps === null) return;
    const last = comps[comps.length - 1];
    if (last !== undefined && last.startsWith('.wh.')) {
      const dir = comps.slice(0, -1);
      if (last === '.wh..wh..opq') {
        this.lookup(dir).flags |= OPAQUE;
        return;
      }
      const n = this.lookup([...dir, last.slice(4)]);
      n.children = null;
      n.mode = (n.mode & 0o777) | S_IFCHR;
      n.size = 0;
      n.offset = 0;
      return;
    }
    if (e.type === '1') {
      const target = clean(e.linkTarget);
      if (target === null) return;
      const t = this.lookup(target);
      if ((t.mode & S_IFMT) !== S_IFREG) return;
      if (last === undefined) {
        this.root = t;
        return;
      }
      const parent = this.lookup(comps, comps.length - 1);
      if (!parent.children?.has(last)) this.account(last);
      parent.children ??= new Map();
      parent.children.set(last, t);
      return;
    }
    let type: number;
    let size = 0;
    let offset = 0;
    switch (e.type) {
      case '0':
      case '\0':
        type = S_IFREG;
        size = e.size;
        offset = e.dataOffset;
        break;
      case '5':
        type = S_IFDIR;
        break;
      case '6':
        type = S_IFIFO;
        break;
      case '3':
      case '4':
        if (e.devMajor === null || e.devMinor === null) return;
        type = e.type === '3' ? S_IFCHR : S_IFBLK;
        // minor | major << 32, as a u64
        offset = e.devMajor * 2 ** 32 + e.devMinor;
        break;
      case '2':
        if (!e.linkTarget.equals(e.headerLinkname)) return;
        type = S_IFLNK;
        size = e.linkTarget.length;
        offset = e.headerOffset + 157;
        break;
      default:
        return;
    }
    const n = last === undefined ? this.root : this.child(this.lookup(comps, comps.length - 1), last);
    n.children = null;
    n.flags = 0;
    n.mode = type | (e.mode & 0o777);
    n.owner = this.paxOwners && e.paxUid !== null ? e.paxUid : e.uid;
    n.group = this.paxOwners && e.paxGid !== null ? e.paxGid : e.gid;
    n.mtimeHi = Number((e.mtime >> 32n) & 0xfn);
    n.mtimeLo = Number(e.mtime & 0xffffffffn);
    n.size = size;
    n.offset = offset;
  }

  /**
   * The index bytes that follow a tar of `tarSize` bytes, handed out in pieces (the zero gap in
   * bounded chunks) so the caller can hash them without holding a second copy. Once per builder: the
   * walk keeps its state on the nodes. It runs once per layer, at the end of the pass, before V8 has
   * optimized any of it and after the tar walk filled the heap: it allocates little (no map or tuple
   * per name) and writes through DataViews, whose methods are builtins where Buffer's are JavaScript
   * (a 21 k-entry layer: ~42 → ~17 ms alone, 45–50 → 19–24 ms in a layer worker).
   */
  *build(tarSize: number): Generator<Buffer> {
    if (this.built) throw new Error('TarfsIndexBuilder.build runs once');
    this.built = true;
    // Breadth-first walk over every name; entries are numbered at their first visit.
    const root = this.root;
    root.ino = 1;
    const order: Node[] = [root];
    const visits: Node[] = [root];
    const maxVisits = this.maxEntries * 4 + 16;
    for (let i = 0; i < visits.length; i++) {
      const n = visits[i]!;
      const children = n.children;
      if (!children || children.size === 0) continue;
      // The default sort compares strings by UTF-16 code units, as `<` does, without a callback.
      n.names ??= [...children.keys()].sort();
      for (const name of n.names) {
        const c = children.get(name)!;
        if (c.ino === 0) {
          c.ino = order.length + 1;
          order.push(c);
        }
        visits.push(c);
      }
      if (visits.length > maxVisits) {
        throw new ContrastError('tarfs index: hard links form a cycle; refusing the layer', {
          code: 'LAYER_LIMIT',
        });
      }
    }

    // Directory bodies, once per visit of a directory; a directory keeps the offset of its last body.
    const inodeTable = tarSize;
    const bodiesStart = inodeTable + 32 * order.length;
    let bodyBytes = 0;
    let nameBytes = 0;
    const bodies: Node[] = [];
    for (const n of visits) {
      if ((n.mode & S_IFMT) !== S_IFDIR) continue;
      n.bodyOffset = bodiesStart + bodyBytes;
      const names = n.names ?? [];
      bodyBytes += 32 * names.length;
      // A latin1 string has a byte per character.
      for (const name of names) nameBytes += name.length;
      bodies.push(n);
    }
    const namesStart = bodiesStart + bodyBytes;
    const namesEnd = namesStart + nameBytes;

    const table = Buffer.alloc(32 * order.length);
    const tv = new DataView(table.buffer, table.byteOffset, table.length);
    for (let i = 0; i < order.length; i++) {
      const n = order[i]!;
      const o = i * 32;
      const dir = n.bodyOffset >= 0;
      tv.setUint16(o, n.mode & 0xffff, true);
      tv.setUint8(o + 2, n.flags);
      tv.setUint8(o + 3, n.mtimeHi);
      tv.setUint32(o + 4, n.owner >>> 0, true);
      tv.setUint32(o + 8, n.group >>> 0, true);
      tv.setUint32(o + 12, n.mtimeLo >>> 0, true);
      setU64(tv, o + 16, dir ? 32 * (n.names?.length ?? 0) : n.size);
      setU64(tv, o + 24, dir ? n.bodyOffset : n.offset);
    }
    yield table;

    const dirents = Buffer.alloc(bodyBytes);
    const dv = new DataView(dirents.buffer, dirents.byteOffset, dirents.length);
    const names = Buffer.alloc(nameBytes);
    let dp = 0;
    let np = 0;
    for (const n of bodies) {
      for (const name of n.names ?? []) {
        const c = n.children!.get(name)!;
        const len = names.write(name, np, 'latin1');
        setU64(dv, dp, c.ino);
        setU64(dv, dp + 8, namesStart + np);
        setU64(dv, dp + 16, len);
        dv.setUint8(dp + 24, direntType(c.mode));
        dp += 32;
        np += len;
      }
    }
    yield dirents;
    yield names;

    // Upstream counts the names twice when sizing, then rounds up to 4096; the superblock sits
    // 512 bytes before the end of the following 4096-byte block.
    const e = Math.ceil((namesEnd + nameBytes) / 4096) * 4096;
    let gap = e + 3584 - namesEnd;
    const zeros = Buffer.alloc(Math.min(gap, 1 << 20));
    while (gap > 0) {
      const n = Math.min(gap, zeros.length);
      yield zeros.subarray(0, n);
      gap -= n;
    }
    const tail = Buffer.alloc(512);
    tail.writeBigUInt64LE(BigInt(tarSize), 0);
    tail.writeBigUInt64LE(BigInt(order.length), 8);
    yield tail;
  }
}
