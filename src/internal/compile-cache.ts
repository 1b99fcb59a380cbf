// Runs a CommonJS bundle through node:vm with a V8 code cache, so a CLI process does not parse and
// compile again the functions the same command compiled last time (issue 15, Node 20: warm
// `generate` 0.49 → 0.42 s, cold 0.86 → 0.77 s). Node 22.1+ has module.enableCompileCache, but it
// stores a module's code as compiled at load time, before any function ran (measured: no gain
// here); Node 20 has no public way to give an ES module cached data at all. Hence the CommonJS
// bundle and vm.Script's cachedData, created after the run, the same on every Node version.
//
// One cache file per bundle and command (`variant`): V8 deserializes a whole cache file, so one file
// for every command made `--version` pay for `generate`'s code. The file's key names the bundle
// (its build id and the file's size and mtime, or its sha256 when there is no build id), the variant,
// Node's version, the architecture and Node's options: V8 itself only checks the source's length and
// its flags. `<dir>/<name>-<hash of the key>.bin`:
//   contrast-compile-cache 3\n  {"key": …, "check": "crc32:…" | "sha256:…"}\n  <V8 data>
// The key is compared and the V8 data checked before V8 sees it (a torn or altered file is
// recompiled, never deserialized): with zlib's crc32 where Node has it (22.2+; loading node:crypto
// for a sha256 costs Node 24 ~6 ms of a 40 ms start), else sha256. The file is only read when the
// current user owns it and nobody else may write it: cached bytecode runs as code. Writing a file
// removes the directory's files older than 30 days (old builds).
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';
import { ownedByUserAlone, replaceCacheFileSync } from './cache-files.js';

const MAGIC = 'contrast-compile-cache 3\n';

export interface CompiledBundle<T> {
  exports: T;
  /**
   * `used`; or why not: `none` (no file yet), `invalid` (damaged, or not the user's alone), `rejected`
   * (V8 refused it), `off` (no cache directory).
   */
  cache: 'used' | 'none' | 'rejected' | 'invalid' | 'off';
  /**
   * Stores the code compiled so far, unless the cache was used: call it when the run went well (a
   * failed run may have stopped early and would leave a thin cache). Returns whether a file was
   * written; never throws (the cache is only an optimisation).
   */
  save(): boolean;
}

export interface CompileCacheOptions {
  /** Directory of the cache files; undefined = no cache (compile only). */
  dir: string | undefined;
  /**
   * The bundle's build id (a digest of it, written at build time), so a start need not hash 2 MB:
   * with it, the file's size and mtime stand for the bytes (an edit after the build changes them).
   */
  buildId?: string;
  /** What this run will do (the command), so each gets a cache of the code it runs. */
  variant?: string;
  /** Extra names the bundle's code sees as variables (the wrapper function's parameters). */
  globals?: Record<string, unknown>;
}

/** Loaded only when used: node:crypto alone costs Node 24 ~6 ms of start-up. */
function sha256(data: Uint8Array | string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(data).digest('hex');
}

/** `crc32:…` where zlib has it (Node 22.2+), else `sha256:…`. */
export function checksum(data: Uint8Array): string {
  const { crc32 } = process.getBuiltinModule('node:zlib') as { crc32?: (d: Uint8Array) => number };
  return crc32 ? `crc32:${crc32(data)}` : `sha256:${sha256(data)}`;
}

/** Verifies `check` with its own algorithm (a crc32 where Node has none fails: recompiled). */
function checks(data: Uint8Array, check: unknown): boolean {
  if (typeof check !== 'string') return false;
  return check === (check.startsWith('sha256:') ? `sha256:${sha256(data)}` : checksum(data));
}

/** 32-bit FNV-1a, for the file name only (the whole key is compared on reading). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Everything the cached code depends on. */
function cacheKey(
  bundle: Buffer,
  stat: { size: number; mtimeMs: number },
  options: CompileCacheOptions,
): string {
  const identity = options.buildId ? `${options.buildId} ${stat.size} ${stat.mtimeMs}` : sha256(bundle);
  return JSON.stringify([
    identity,
    options.variant ?? '',
    process.version,
    process.arch,
    process.execArgv,
    process.env['NODE_OPTIONS'] ?? '',
  ]);
}

/** The V8 data of the cache file; `none` when absent, `invalid` when foreign, not ours alone, or damaged. */
function readCacheFile(path: string, key: string): Buffer | 'none' | 'invalid' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'none';
  }
  try {
    const st = fstatSync(fd);
    // Another user's file, or one others may write, could hold any bytecode.
    if (!ownedByUserAlone(st)) return 'invalid';
    const buf = Buffer.allocUnsafe(st.size);
    if (readSync(fd, buf, 0, st.size, 0) !== st.size) return 'invalid';
    if (!buf.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return 'invalid';
    const nl = buf.indexOf(10, MAGIC.length);
    if (nl < 0) return 'invalid';
    const header = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as {
      key?: unknown;
      check?: unknown;
    };
    const data = buf.subarray(nl + 1);
    return header.key === key && checks(data, header.check) ? data : 'invalid';
  } catch {
    return 'invalid';
  } finally {
    closeSync(fd);
  }
}

function writeCacheFile(path: string, key: string, data: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const header = JSON.stringify({ key, check: checksum(data) });
  replaceCacheFileSync(path, Buffer.concat([Buffer.from(`${MAGIC}${header}\n`), data]), 0o600);
  pruneOldFiles(dirname(path));
}

/** A file not written for this long belongs to an old build, most likely: it is removed. */
export const STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/**
 * Every build (and Node version) gets new files, so old ones are removed when a new one is written:
 * a file still in use comes back after its command's next run. Temp files a killed run left go too.
 */
function pruneOldFiles(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!/\.(bin|tmp)$/.test(name)) continue;
    const file = join(dir, name);
    try {
      const age = now - statSync(file).mtimeMs;
      if (age > (name.endsWith('.tmp') ? 3600 * 1000 : STALE_AFTER_MS)) rmSync(file, { force: true });
    } catch {
      // removed by another run meanwhile
    }
  }
}

/**
 * Evaluates the CommonJS bundle `file` (its `require` resolves beside it) with the code cache in
 * `options.dir`, and returns its exports.
 */
export function loadBundle<T>(file: string, options: CompileCacheOptions): CompiledBundle<T> {
  const fd = openSync(file, 'r');
  let bytes: Buffer;
  let stat: { size: number; mtimeMs: number };
  try {
    // Size, mtime and bytes from one open file: a bundle replaced meanwhile cannot mix two builds.
    stat = fstatSync(fd);
    bytes = Buffer.allocUnsafe(stat.size);
    for (let at = 0; at < stat.size;) {
      const n = readSync(fd, bytes, at, stat.size - at, at);
      if (n === 0) throw new Error(`${file}: shorter than its size`);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  // esbuild writes ASCII (non-ASCII characters escaped): latin1 is then the same text, decoded in
  // 2–4 ms against 9–12 ms as UTF-8 for the 2 MB bundle.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const names = Object.keys(options.globals ?? {});
  const key = options.dir === undefined ? '' : cacheKey(bytes, stat, options);
  const path =
    options.dir === undefined
      ? undefined
      : join(options.dir, `${basename(file).replace(/\.[^.]*$/, '')}-${fnv1a(key)}.bin`);
  const found = path === undefined ? 'none' : readCacheFile(path, key);
  const cachedData = typeof found === 'object' ? found : undefined;
  // The same wrapper as Node's own CommonJS loader, plus the extra names.
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname${names.map((n) => `, ${n}`).join('')}) {${source}\n})`,
    {
      filename: file,
      ...(cachedData ? { cachedData } : {}),
      // A real `import()` left in the bundle (node: built-ins) goes to Node's loader.
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    },
  );
  const state: CompiledBundle<T>['cache'] =
    path === undefined
      ? 'off'
      : cachedData === undefined
        ? (found as 'none' | 'invalid')
        : script.cachedDataRejected
          ? 'rejected'
          : 'used';
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as T };
  fn.call(
    module.exports,
    module.exports,
    createRequire(file),
    module,
    file,
    dirname(file),
    ...names.map((n) => options.globals![n]),
  );
  return {
    exports: module.exports,
    cache: state,
    save() {
      if (path === undefined || state === 'used') return false;
      try {
        writeCacheFile(path, key, script.createCachedData());
        return true;
      } catch {
        return false;
      }
    },
  };
}
