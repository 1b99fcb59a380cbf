import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeEntryArgs } from '../../test/helpers/node-entry.js';
import { setLogSink } from '../internal/log.js';
import { loadCache, parseCache, saveCache, type CachedLayer } from './cache.js';

const users = {
  passwd: { reset: false, content: 'root:x:0:0::/:/bin/sh\n' },
  group: { reset: true },
  genpolicy: { passwd: { reset: false }, group: { reset: false } },
};
const layer = (n: number): CachedLayer => ({
  diffId: `sha256:${n.toString(16).padStart(64, '0')}`,
  uncompressedSize: n,
  users,
});

test('concurrent writers merge under the lock; the file is always complete JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'layers-cache.json');
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      saveCache(path, [layer(i + 1)], [{ imageRef: `img${i}`, layers: [] }]),
    ),
  );
  const parsed = parseCache(readFileSync(path, 'utf8'));
  assert.equal(parsed.problem, undefined);
  assert.equal(parsed.layers.size, 8);
  assert.equal(parsed.images.size, 8);
  assert.equal(existsSync(`${path}.lock`), false);
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Array<Record<string, unknown>>;
  const l = raw.find((e) => e['diff_id'] === layer(1).diffId)!;
  assert.equal(l['passwd'], 'root:x:0:0::/:/bin/sh\n', 'Contrast-shaped fields are present');
  assert.equal(l['group'], '');
  assert.equal(l['uncompressed_size'], 1);
});

test('a stale lock of a dead process is taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.json');
  writeFileSync(`${path}.lock`, '999999999');
  await saveCache(path, [layer(3)], []);
  assert.equal(parseCache(readFileSync(path, 'utf8')).layers.size, 1);
});

test('foreign, corrupt and invalid caches are reported and ignored; bad entries are skipped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const prev = setLogSink({ write: (l) => void lines.push(l) });
  t.after(() => setLogSink(prev));
  const path = join(dir, 'c.json');
  writeFileSync(path, JSON.stringify([{ diff_id: layer(1).diffId, passwd: '', group: '' }]));
  assert.equal((await loadCache(path)).layers.size, 0);
  assert.match(lines.join(''), /another tool.*rebuilding/);
  writeFileSync(path, '{');
  assert.equal((await loadCache(path)).layers.size, 0);
  assert.match(lines.join(''), /not valid JSON/);
  writeFileSync(path, '');
  assert.equal((await loadCache(path)).layers.size, 0);
  const mixed = [
    { cache_schema: 'contrast-ts/layers-cache', schema_version: 1 },
    { diff_id: 'sha256:zz', uncompressed_size: 1, users },
    { diff_id: layer(2).diffId, uncompressed_size: -1, users },
    { diff_id: layer(3).diffId, uncompressed_size: 3, users, unknown_field: true },
  ];
  writeFileSync(path, JSON.stringify(mixed));
  assert.deepEqual([...(await loadCache(path)).layers.keys()], [layer(3).diffId]);
  assert.equal(
    parseCache('[{"cache_schema":"contrast-ts/layers-cache","schema_version":2}]').problem?.includes(
      'version 2',
    ),
    true,
  );
});

test('a stale lock is taken over by exactly one of several concurrent processes', async (t) => {
  // Before the fix two contenders could both remove the stale lock and both enter (issue 14.8).
  const dir = mkdtempSync(join(tmpdir(), 'cache-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const contender = join(import.meta.dirname, '../../test/helpers/lock-contender.ts');
  const n = 6;
  for (let round = 0; round < 4; round++) {
    const path = join(dir, `c${round}.json`);
    writeFileSync(`${path}.lock`, '999999999'); // a dead PID: stale
    const startAt = Date.now() + 2500; // all children are started (loaded) before this moment
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              [...nodeEntryArgs(contender), path, String(i), String(startAt)],
              {
                stdio: ['ignore', 'ignore', 'inherit'],
              },
            );
            child.on('error', reject);
            child.on('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`contender exited ${code}`)),
            );
          }),
      ),
    );
    const log = readFileSync(`${path}.log`, 'utf8').trim().split('\n');
    for (let i = 0; i < log.length; i += 2) {
      const id = log[i]!.split(' ')[1];
      assert.deepEqual(
        [log[i], log[i + 1]],
        [`enter ${id}`, `exit ${id}`],
        `round ${round}: overlap\n${log.join('\n')}`,
      );
    }
    const ids = (JSON.parse(readFileSync(path, 'utf8')) as string[]).sort();
    assert.deepEqual(
      ids,
      Array.from({ length: n }, (_, i) => String(i)),
      `round ${round}: lost entries`,
    );
    assert.equal(existsSync(`${path}.lock`), false);
  }
});
