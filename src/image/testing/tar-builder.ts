// Hand-built tar archives for tests: every header field under the test's control, including
// broken ones (bad checksums, dangling extension headers, odd magics).

export interface HeaderSpec {
  name?: string | Buffer;
  mode?: number | string;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  type?: string;
  linkname?: string | Buffer;
  magic?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  devmajor?: number;
  devminor?: number;
  /** Override the stored checksum (to build a corrupt header). */
  checksum?: number;
}

function put(b: Buffer, off: number, len: number, v: string | Buffer): void {
  const src = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  src.copy(b, off, 0, Math.min(len, src.length));
}

function oct(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

export function header(s: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  put(b, 0, 100, s.name ?? '');
  put(b, 100, 8, typeof s.mode === 'string' ? s.mode : oct(s.mode ?? 0o644, 8));
  put(b, 108, 8, oct(s.uid ?? 0, 8));
  put(b, 116, 8, oct(s.gid ?? 0, 8));
  put(b, 124, 12, oct(s.size ?? 0, 12));
  put(b, 136, 12, oct(s.mtime ?? 1700000000, 12));
  b.write(s.type ?? '0', 156, 'latin1');
  put(b, 157, 100, s.linkname ?? '');
  const magic = s.magic ?? 'ustar';
  if (magic === 'ustar') put(b, 257, 8, 'ustar\x0000');
  if (magic === 'gnu') put(b, 257, 8, 'ustar  \0');
  if (magic !== 'v7') {
    put(b, 329, 8, oct(s.devmajor ?? 0, 8));
    put(b, 337, 8, oct(s.devminor ?? 0, 8));
  }
  if (s.prefix) put(b, 345, 155, s.prefix);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  put(b, 148, 8, oct(s.checksum ?? sum, 7) + ' ');
  return b;
}

function pad(data: Buffer): Buffer {
  const p = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(p)]);
}

export function entry(s: HeaderSpec, data: string | Buffer = ''): Buffer {
  const d = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([header({ ...s, size: s.size ?? d.length }), pad(d)]);
}

/** GNU long name (`L`) or long link (`K`) extension followed by its member. */
export function gnuLong(kind: 'L' | 'K', value: string): Buffer {
  const v = Buffer.from(value + '\0');
  return Buffer.concat([header({ name: '././@LongLink', type: kind, size: v.length, magic: 'gnu' }), pad(v)]);
}

export function paxRecords(records: Record<string, string>): Buffer {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(`${len}${body}`);
  }
  return Buffer.from(parts.join(''));
}

export function pax(records: Record<string, string>): Buffer {
  const data = paxRecords(records);
  return Buffer.concat([header({ name: 'PaxHeaders/x', type: 'x', size: data.length }), pad(data)]);
}

export function endOfArchive(): Buffer {
  return Buffer.alloc(1024);
}

export function tar(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, endOfArchive()]);
}
