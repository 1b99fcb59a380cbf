// Strict UTF-8 decoding for files we may rewrite: Node's default decoding turns invalid bytes into
// U+FFFD, so a Latin-1 comment or label would come back altered (and a policy would cover the altered
// text). We refuse such input instead, naming the first bad line.
import { isUtf8 } from 'node:buffer';
import { ContrastError } from './errors.js';

/** Decodes `bytes` as UTF-8 or throws "FILE is not valid UTF-8 (line L)". A BOM is kept as U+FEFF. */
export function decodeUtf8Strict(path: string, bytes: Uint8Array): string {
  if (!isUtf8(bytes)) {
    throw new ContrastError(`${path} is not valid UTF-8 (line ${firstInvalidLine(bytes)})`, {
      code: 'NOT_UTF8',
      hint: 'convert the file to UTF-8 (for example `iconv -f latin1 -t utf-8`); it was not changed',
    });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** 1-based line of the first invalid sequence: 0x0A never occurs inside a UTF-8 multi-byte sequence. */
function firstInvalidLine(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    if (!isUtf8(bytes.subarray(start, end))) return line;
    if (nl === -1) return line;
    start = nl + 1;
    line++;
  }
}
