// Runs a CommonJS bundle through node:vm with a V8 code cache, so a CLI process does not parse and
// compile again the functions the same command compiled last time (issue 15, Node 20: warm
// `generate` 0.49 → 0.42 s, cold 0.86 → 0.77 s). Node 22.1+ has module.enableCompileCache, but it
// stores a module's code as compiled at load time, before any function ran (measured: no gain
// here); Node 20 has no public way to give an ES module cached data at all. Hence the CommonJS
// bundle and vm.Script's cachedData, created after the run, the same on every Node version.
//
// One cache file per bundle and command (`variant`): V8 deserializes a whole cache file, so one file
// for every command made `--version` pay for `generate`'s code. `<dir>/<name>-<key>.bin`, where the
// key hashes the bundle's bytes, the variant, Node's version, the architecture and Node's options
// (V8 itself only checks the source's length and its flags). Content:
//   contrast-compile-cache 2\n  {"sha256": <hex of the V8 data>}\n  <V8 data>
// The V8 data is checked against its sha256 before V8 sees it (a torn or altered file is recompiled,
// never deserialized), and the file is only read when the current user owns it and nobody else may
// write it: cached bytecode runs as code. Writing a file removes the directory's files older than 30
// days (old builds).
import { isAscii } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';

const MAGIC = 'contrast-compile-cache 2\n';

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
  /** What this run will do (the command), so each gets a cache of the code it runs. */
  variant?: string;
  /** Extra names the bundle's code sees as variables (the wrapper function's parameters). */
  globals?: Record<string, unknown>;
}

/** Hex digest of the bundle and everything its cached code depends on. */
function cacheKey(bundle: Buffer, variant: string): string {
  return createHash('sha256')
    .update(bundle)
    .update(
      [
        variant,
        process.version,
        process.arch,
        process.execArgv.join(' '),
        process.env['NODE_OPTIONS'] ?? '',
      ].join('\0'),
    )
    .digest('hex')
    .slice(0, 24);
}

/** The V8 data of the cache file; `none` when absent, `invalid` when foreign, not ours alone, or damaged. */
function readCacheFile(path: string): Buffer | 'none' | 'invalid' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'none';
  }
  try {
    const st = fstatSync(fd);
    // Another user's file, or one others may write, could hold any bytecode.
    if ((process.getuid && st.uid !== process.getuid()) || (st.mode & 0o022) !== 0) return 'invalid';
    const buf = Buffer.allocUnsafe(st.size);
    if (readSync(fd, buf, 0, st.size, 0) !== st.size) return 'invalid';
    if (!buf.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return 'invalid';
    const nl = buf.indexOf(10, MAGIC.length);
    if (nl < 0) return 'invalid';
    const header = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as { sha256?: unknown };
    const data = buf.subarray(nl + 1);
    return header.sha256 === createHash('sha256').update(data).digest('hex') ? data : 'invalid';
  } catch {
    return 'invalid';
  } finally {
    closeSync(fd);
  }
}

function writeCacheFile(path: string, data: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const header = JSON.stringify({ sha256: createHash('sha256').update(data).digest('hex') });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${MAGIC}${header}\n`), data]), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
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
  const bytes = readFileSync(file);
  // esbuild writes ASCII (non-ASCII characters escaped): latin1 is then the same text, decoded ~5×
  // faster than UTF-8 for the 2 MB bundle.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const names = Object.keys(options.globals ?? {});
  const path =
    options.dir === undefined
      ? undefined
      : join(
          options.dir,
          `${basename(file).replace(/\.[^.]*$/, '')}-${cacheKey(bytes, options.variant ?? '')}.bin`,
        );
  const found = path === undefined ? 'none' : readCacheFile(path);
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
        writeCacheFile(path, script.createCachedData());
        return true;
      } catch {
        return false;
      }
    },
  };
}
