// Reading user-named input files safely: `-` is stdin, symlinks are followed, anything that is not a
// regular file (a device such as /dev/zero, a FIFO, a socket) is refused before it is opened — opening
// a FIFO blocks and a device never ends — and files are capped in size, so a wrong path is a clear
// error instead of a hang or a RangeError from V8's string limit.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ContrastError, errorMessage } from './errors.js';
import { decodeUtf8Strict } from './utf8.js';

/**
 * Largest input file read (YAML, settings, request logs, replacement lists): 64 MiB. A Kubernetes
 * object is at most ~1.5 MiB (etcd's request limit), so this is far above any real input and far
 * below the ~512 MiB where a JavaScript string can no longer hold the text.
 */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** The path that means stdin (and, for outputs, stdout), as kubectl reads it. */
export const STDIO_PATH = '-';

/** How a path is shown in messages: stdin has no name of its own. */
export function displayPath(path: string): string {
  return path === STDIO_PATH ? 'stdin' : path;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Throws unless `st` (of `path`, symlinks followed) is a regular file within the size cap. */
function checkRegularFile(path: string, st: Stats, what = 'input'): void {
  if (!st.isFile()) {
    throw new ContrastError(`${path}: ${what} is ${kindOf(st)}, not a regular file`, {
      code: 'NOT_REGULAR_FILE',
      hint: 'give a regular file (or a directory where directories are accepted); use - to read stdin',
    });
  }
  if (st.size > MAX_INPUT_BYTES) {
    throw new ContrastError(
      `${path}: ${what} is ${(st.size / 1048576).toFixed(0)} MiB, more than the ${MAX_INPUT_BYTES / 1048576} MiB limit`,
      { code: 'INPUT_TOO_LARGE' },
    );
  }
}

function readError(path: string, err: unknown): ContrastError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ELOOP: 'too many levels of symbolic links',
    EISDIR: 'is a directory',
  };
  const text = code ? (why[code] ? `${code} (${why[code]})` : code) : String(err);
  return new ContrastError(`${path}: cannot read: ${text}`, { code: 'READ', cause: err });
}

/** Text of stdin, capped like a file. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_INPUT_BYTES) {
      throw new ContrastError(`stdin: more than the ${MAX_INPUT_BYTES / 1048576} MiB input limit`, {
        code: 'INPUT_TOO_LARGE',
      });
    }
    chunks.push(chunk);
  }
  return decodeUtf8Strict('stdin', Buffer.concat(chunks));
}

/** Stats a path (following symlinks) with a clear error when it cannot be reached. */
export async function statInput(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    throw readError(path, err);
  }
}

/** Reads a UTF-8 input file (or stdin for `-`), refusing non-regular and oversized files. */
export async function readTextInput(path: string, what = 'input'): Promise<string> {
  if (path === STDIO_PATH) return readStdin();
  checkRegularFile(path, await statInput(path), what);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw readError(path, err);
  }
  // Text inputs may be rewritten: invalid bytes are refused, never turned into U+FFFD.
  return decodeUtf8Strict(path, bytes);
}

/** Synchronous `readTextInput` for the few callers that read synchronously. */
export function readTextInputSync(path: string, what = 'input'): string {
  return decodeUtf8Strict(path === STDIO_PATH ? 'stdin' : path, readBytesInputSync(path, what));
}

/** Bytes of an input file (or stdin), with the same checks. */
export function readBytesInputSync(path: string, what = 'input'): Buffer {
  if (path === STDIO_PATH) {
    const buf = readFileSync(0);
    if (buf.length > MAX_INPUT_BYTES) {
      throw new ContrastError(`stdin: more than the ${MAX_INPUT_BYTES / 1048576} MiB input limit`, {
        code: 'INPUT_TOO_LARGE',
      });
    }
    return buf;
  }
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw readError(path, err);
  }
  checkRegularFile(path, st, what);
  try {
    return readFileSync(path);
  } catch (err) {
    throw readError(path, err);
  }
}

/**
 * Runs `read` on the file given to a command-line option, naming the option in its errors
 * (`--policy deploy.yml: not a regular file`).
 */
export function readOptionInput<T>(option: string, file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ContrastError) throw new ContrastError(`${option} ${err.message}`, { code: err.code });
    throw new ContrastError(`${option} ${file}: cannot read file: ${errorMessage(err)}`);
  }
}
