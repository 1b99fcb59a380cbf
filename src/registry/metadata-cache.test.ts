import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MetadataCache } from './metadata-cache.js';

test('600 entries stored and read at once under a 128-descriptor limit (bounded open files)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'metadata-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A run resolves every image concurrently: each manifest and config is a cache read, then a write.
  const script = `
const { createHash } = await import('node:crypto');
const { MetadataCache } = await import(${JSON.stringify(join(import.meta.dirname, 'metadata-cache.ts'))});
const cache = new MetadataCache(${JSON.stringify(dir)});
const entries = Array.from({ length: 600 }, (_, i) => {
  const bytes = Buffer.from('{"n":' + i + '}');
  return { repo: 'registry.example/app' + (i % 7), digest: 'sha256:' + createHash('sha256').update(bytes).digest('hex'), bytes };
});
await Promise.all(entries.map((e) => cache.put(e.repo, e.digest, e.bytes, 'application/json')));
const hits = await Promise.all(entries.map((e) => cache.get(e.repo, e.digest)));
console.log(hits.filter((h) => h !== undefined).length);`;
  const r = spawnSync(
    'bash',
    ['-c', 'ulimit -n 128 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
    { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '600', 'every entry was stored and read back');
});

test('a cache directory removed during the run costs one entry, not every later one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'metadata-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cache = new MetadataCache(dir);
  const entry = (n: number) => {
    const bytes = Buffer.from(`{"n":${n}}`);
    return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
  };
  const [a, b, c] = [entry(1), entry(2), entry(3)];
  await cache.put('r.example/app', a.digest, a.bytes, 'application/json');
  assert.ok(await cache.get('r.example/app', a.digest));
  // Another process clears the cache: the directory this run made is gone.
  rmSync(dir, { recursive: true, force: true });
  await cache.put('r.example/app', b.digest, b.bytes, 'application/json');
  await cache.put('r.example/app', c.digest, c.bytes, 'application/json');
  assert.ok(await cache.get('r.example/app', c.digest), 'the directory was made again');
});
