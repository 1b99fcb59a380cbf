import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checksum, loadBundle, STALE_AFTER_MS } from './compile-cache.js';

interface Bundle {
  add(a: number, b: number): number;
  dir: string;
  url: string;
  path(): Promise<string>;
}

function setUp(t: { after(fn: () => void): void }, body = ''): { file: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'compile-cache-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const file = join(root, 'main.cjs');
  writeFileSync(
    file,
    `${body}
exports.add = (a, b) => a + b;
exports.dir = __dirname;
exports.url = __bundleUrl;
// A real dynamic import of a built-in, as esbuild leaves \`import('node:…')\` in a bundle.
exports.path = async () => (await import('node:path')).sep;
`,
  );
  return { file, dir: join(root, 'cache') };
}

const globals = { __bundleUrl: 'file:///x/main.cjs' };

/**
 * Loads the bundle in a new process for `variant` and saves the cache (as after a good run). V8's
 * in-process compilation cache would answer a second compile of the same text itself, so whether V8
 * takes or refuses cached data shows only in a new process.
 */
function loadInChild(
  file: string,
  dir: string,
  variant = 'generate',
): { cache: string; sum: number; saved: boolean } {
  // The same code every time (the cache key covers Node's arguments): the inputs come as arguments.
  const ts = import.meta.url.endsWith('.ts'); // under tsx, or compiled by scripts/test.mjs
  const code = `
    import { loadBundle } from ${JSON.stringify(join(import.meta.dirname, ts ? 'compile-cache.ts' : 'compile-cache.js'))};
    const [file, dir, globals, variant] = process.argv.slice(1);
    const b = loadBundle(file, { dir, variant, globals: JSON.parse(globals) });
    const sum = b.exports.add(2, 3);
    console.log(JSON.stringify({ cache: b.cache, sum, saved: b.save() }));`;
  const node = [...(ts ? ['--import', 'tsx'] : []), '--input-type=module', '-e', code];
  const out = execFileSync(process.execPath, [...node, file, dir, JSON.stringify(globals), variant], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as { cache: string; sum: number; saved: boolean };
}
const cacheFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.bin'));

describe('loadBundle (compile cache)', () => {
  it('evaluates the bundle as the CommonJS loader does, plus the given names', async (t) => {
    const { file } = setUp(t);
    const b = loadBundle<Bundle>(file, { dir: undefined, globals });
    assert.equal(b.exports.add(2, 3), 5);
    assert.equal(b.exports.url, 'file:///x/main.cjs');
    assert.equal(b.exports.dir, join(file, '..'));
    assert.equal(await b.exports.path(), '/');
  });

  it('compiles without a cache, stores one after the run, and uses it next time', (t) => {
    const { file, dir } = setUp(t);
    assert.deepEqual(loadInChild(file, dir), { cache: 'none', sum: 5, saved: true });
    const [name] = cacheFiles(dir);
    assert.match(name!, /^main-[0-9a-f]{8}\.bin$/);
    const path = join(dir, name!);
    // Only the user may read or write it: cached bytecode runs as code.
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const ino = statSync(path).ino;
    // A used cache is left as it is.
    assert.deepEqual(loadInChild(file, dir), { cache: 'used', sum: 5, saved: false });
    assert.equal(statSync(path).ino, ino);
    // Another command gets a file of its own (V8 deserializes a whole file, needed or not).
    assert.deepEqual(loadInChild(file, dir, 'image analyze'), { cache: 'none', sum: 5, saved: true });
    assert.equal(cacheFiles(dir).length, 2);
    assert.equal(loadInChild(file, dir, 'image analyze').cache, 'used');
    assert.equal(loadInChild(file, dir).cache, 'used');
  });

  it('keys the cache by the bundle text: a changed bundle of the same length gets its own file', (t) => {
    const { file, dir } = setUp(t, '// a');
    loadInChild(file, dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace('// a', '// b'));
    assert.equal(loadInChild(file, dir).cache, 'none');
    assert.equal(cacheFiles(dir).length, 2);
  });

  it('never gives V8 a damaged file, and recompiles and rewrites it', (t) => {
    const { file, dir } = setUp(t);
    loadInChild(file, dir);
    const path = join(dir, cacheFiles(dir)[0]!);
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
    writeFileSync(path, bytes, { mode: 0o600 });
    assert.deepEqual(loadInChild(file, dir), { cache: 'invalid', sum: 5, saved: true });
    assert.equal(loadInChild(file, dir).cache, 'used');
    writeFileSync(path, 'not a cache', { mode: 0o600 });
    assert.equal(loadInChild(file, dir).cache, 'invalid');
  });

  it('reports data V8 refuses as rejected and replaces it', (t) => {
    // Intact data of another script under this bundle's key (what a key that misses a difference
    // would give): our checks pass, V8's do not.
    const a = setUp(t, '// the other bundle, a little longer');
    loadInChild(a.file, a.dir);
    const b = setUp(t);
    loadInChild(b.file, b.dir);
    const parts = (path: string) => {
      const buf = readFileSync(path);
      const first = buf.indexOf(10);
      const second = buf.indexOf(10, first + 1);
      return {
        magic: buf.subarray(0, first + 1),
        header: JSON.parse(buf.subarray(first + 1, second).toString()) as { key: string },
        data: buf.subarray(second + 1),
      };
    };
    const target = join(b.dir, cacheFiles(b.dir)[0]!);
    const other = parts(join(a.dir, cacheFiles(a.dir)[0]!));
    const ours = parts(target);
    const header = JSON.stringify({ key: ours.header.key, check: checksum(other.data) });
    writeFileSync(target, Buffer.concat([ours.magic, Buffer.from(`${header}\n`), other.data]), {
      mode: 0o600,
    });
    assert.deepEqual(loadInChild(b.file, b.dir), { cache: 'rejected', sum: 5, saved: true });
    assert.equal(loadInChild(b.file, b.dir).cache, 'used');
  });

  it('takes a build id for the identity of the bundle, with its size and mtime', (t) => {
    const { file, dir } = setUp(t);
    const load = (buildId: string) => loadBundle<Bundle>(file, { dir, globals, buildId });
    assert.equal(load('build-1').save(), true);
    assert.equal(load('build-2').cache, 'none', 'another build');
    // An edit after the build (same length) changes the mtime: not this build's code any more.
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('a + b', 'a - b'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(load('build-1').cache, 'none');
  });

  it('ignores a file others may write, or another user owns', (t) => {
    const { file, dir } = setUp(t);
    loadInChild(file, dir);
    const path = join(dir, cacheFiles(dir)[0]!);
    chmodSync(path, 0o620);
    assert.equal(loadInChild(file, dir).cache, 'invalid');
    // It was replaced by a file of our own.
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadInChild(file, dir).cache, 'used');
    if (process.getuid?.() !== 0) {
      t.diagnostic('not root: the other-owner case needs chown');
      return;
    }
    chownSync(path, 65534, 65534);
    assert.equal(loadInChild(file, dir).cache, 'invalid');
  });

  it('without a directory compiles only, and an unwritable one is no error', (t) => {
    const { file, dir } = setUp(t);
    const off = loadBundle<Bundle>(file, { dir: undefined, globals });
    assert.equal(off.cache, 'off');
    assert.equal(off.save(), false);
    // A regular file where the directory should be: the cache cannot be written, the run goes on.
    writeFileSync(dir, '');
    const blocked = loadBundle<Bundle>(file, { dir, globals });
    assert.equal(blocked.cache, 'none');
    assert.equal(blocked.save(), false);
    assert.equal(readdirSync(join(dir, '..')).filter((f) => f.endsWith('.tmp')).length, 0);
  });
});

describe('loadBundle: old cache files', () => {
  it('writing a file removes those not written for 30 days (old builds) and stale temp files', (t) => {
    const { file, dir } = setUp(t);
    mkdirSync(dir, { mode: 0o700 });
    const old = join(dir, 'main-000000000000000000000000.bin');
    const recent = join(dir, 'main-111111111111111111111111.bin');
    const tmp = join(dir, 'main-222222222222222222222222.bin.123-abcd.tmp');
    const other = join(dir, 'notes.txt');
    for (const f of [old, recent, tmp, other]) writeFileSync(f, 'x', { mode: 0o600 });
    const ago = (ms: number) => new Date(Date.now() - ms);
    utimesSync(old, ago(STALE_AFTER_MS + 60_000), ago(STALE_AFTER_MS + 60_000));
    utimesSync(recent, ago(STALE_AFTER_MS - 60_000), ago(STALE_AFTER_MS - 60_000));
    utimesSync(tmp, ago(2 * 3600 * 1000), ago(2 * 3600 * 1000));
    utimesSync(other, ago(STALE_AFTER_MS + 60_000), ago(STALE_AFTER_MS + 60_000));
    const b = loadBundle<Bundle>(file, { dir, globals });
    assert.equal(b.save(), true);
    assert.ok(!existsSync(old) && !existsSync(tmp));
    assert.ok(existsSync(recent) && existsSync(other));
    assert.equal(cacheFiles(dir).length, 2);
  });
});
