// Runs a CommonJS bundle through node:vm with a V8 code cache, so a CLI process does not parse and
// compile again the functions the same command compiled last time (issue 15: ~35 ms of a warm
// `generate`, ~0.1 s of a cold one, measured on Node 20). Node 22.1+ has module.enableCompileCache
// for ES modules; Node 20 has no public way to give an ES module cached data, hence the CommonJS
// bundle and vm.Script's cachedData, the same on every Node version.
//
// Cache file: `<dir>/<name>-<key>.bin`, where the key hashes the bundle's text, Node's version, the
// architecture and the V8 flags (V8 itself only checks the source's length and its flags). Content:
//   contrast-compile-cache 1\n  {"sha256": <hex of the V8 data>, "covered": [<command keys>]}\n  <V8 data>
// The V8 data is checked against its sha256 before V8 sees it (a torn or altered file is recompiled,
// never deserialized), and the file is only read when the current user owns it and nobody else may
// write it: cached bytecode runs as code.
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  openSync,
  closeSync,
  fstatSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';

const MAGIC = 'contrast-compile-cache 1\n';

interface CacheFile {
  covered: string[];
  data: Buffer;
}

export interface CompiledBundle<T> {
  exports: T;
  /**
   * `used`; or why not: `none` (no file yet), `invalid` (damaged, or not the user's alone), `rejected`
   * (V8 refused it), `off` (no cache directory).
   */
  cache: 'used' | 'none' | 'rejected' | 'invalid' | 'off';
  /**
   * Stores the code compiled so far when the cache was not used or does not yet cover `key` (the
   * command that ran), so each command's functions get in after its first successful run. Returns
   * whether a file was written; never throws (the cache is only an optimisation).
   */
  save(key: string): boolean;
}

export interface CompileCacheOptions {
  /** Directory of the cache files; undefined = no cache (compile only). */
  dir: string | undefined;
  /** Extra names the bundle's code sees as variables (the wrapper function's parameters). */
  globals?: Record<string, unknown>;
}

/** Hex sha256 of the bundle and everything V8's cached data depends on. */
function cacheKey(source: string): string {
  return createHash('sha256')
    .update(source)
    .update(
      `\0${process.version}\0${process.arch}\0${process.execArgv.join(' ')}\0${process.env['NODE_OPTIONS'] ?? ''}`,
    )
    .digest('hex')
    .slice(0, 24);
}

/** The cache file's content; `none` when absent, `invalid` when foreign, not ours alone, or damaged. */
function readCacheFile(path: string): CacheFile | 'none' | 'invalid' {
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
    const header = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as {
      sha256?: unknown;
      covered?: unknown;
    };
    const data = buf.subarray(nl + 1);
    if (header.sha256 !== createHash('sha256').update(data).digest('hex')) return 'invalid';
    const covered = Array.isArray(header.covered) ? header.covered.filter((c) => typeof c === 'string') : [];
    return { covered, data };
  } catch {
    return 'invalid';
  } finally {
    closeSync(fd);
  }
}

function writeCacheFile(path: string, covered: string[], data: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const header = JSON.stringify({ sha256: createHash('sha256').update(data).digest('hex'), covered });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${MAGIC}${header}\n`), data]), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Evaluates the CommonJS bundle `file` (its `require` resolves beside it) with the code cache in
 * `options.dir`, and returns its exports.
 */
export function loadBundle<T>(file: string, options: CompileCacheOptions): CompiledBundle<T> {
  const source = readFileSync(file, 'utf8');
  const names = Object.keys(options.globals ?? {});
  const path =
    options.dir === undefined
      ? undefined
      : join(options.dir, `${basename(file).replace(/\.[^.]*$/, '')}-${cacheKey(source)}.bin`);
  const found = path === undefined ? 'none' : readCacheFile(path);
  const cached = typeof found === 'object' ? found : undefined;
  // The same wrapper as Node's own module loader, plus the extra names.
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname${names.map((n) => `, ${n}`).join('')}) {${source}\n})`,
    {
      filename: file,
      ...(cached ? { cachedData: cached.data } : {}),
      // A real `import()` left in the bundle (node: built-ins) goes to Node's loader.
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    },
  );
  const kept = cached !== undefined && !script.cachedDataRejected ? cached : undefined;
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
  const state: CompiledBundle<T>['cache'] =
    path === undefined ? 'off' : kept ? 'used' : cached ? 'rejected' : (found as 'none' | 'invalid');
  return {
    exports: module.exports,
    cache: state,
    save(key) {
      if (path === undefined || kept?.covered.includes(key)) return false;
      try {
        writeCacheFile(path, [...new Set([...(kept?.covered ?? []), key])], script.createCachedData());
        return true;
      } catch {
        return false;
      }
    },
  };
}
