// npm run bench [name...]: runs the benchmarks in bench/*.bench.ts (all, or the named ones) one after
// another, each printing its figures and the ratios against the peer tool measured in the same run.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

if (names.length === 0) {
  console.error(`bench: nothing matches ${wanted.join(' ')}`);
  process.exit(1);
}
for (const name of names) {
  console.log(`\n=== bench ${name} ===`);
  const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as {
    run: () => Promise<void>;
  };
  await mod.run();
}
