// Child process for the cache-lock test: waits for a common start time, then takes the cache lock and
// does a read-modify-write of a shared JSON list (with a pause inside), so that two holders at once
// show up as a lost entry and as overlapping enter/exit lines.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { withCacheLock } from '../../src/image/cache.js';

const [path, id, startAt] = process.argv.slice(2) as [string, string, string];
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
await withCacheLock(path, async () => {
  appendFileSync(`${path}.log`, `enter ${id}\n`);
  let list: string[] = [];
  try {
    list = JSON.parse(readFileSync(path, 'utf8')) as string[];
  } catch {
    list = [];
  }
  await new Promise((r) => setTimeout(r, 25));
  writeFileSync(path, JSON.stringify([...list, id]));
  appendFileSync(`${path}.log`, `exit ${id}\n`);
});
