// How to start a TypeScript entry point (the CLI, a test child) in a child process. `npm test` runs
// the tests on a compiled copy of src/ and test/ (scripts/test.mjs), where every `x.ts` has its
// `x.js` beside it: that one starts without tsx, which costs most of a child's start-up. Run from
// source (`node --import tsx --test file.ts`), there is no `.js` and tsx loads the `.ts`.
import { existsSync } from 'node:fs';

const tsx = import.meta.resolve('tsx');

/** The node arguments (before the entry's own) that run `entry`, a path ending in `.ts`. */
export function nodeEntryArgs(entry: string): string[] {
  const compiled = entry.replace(/\.ts$/, '.js');
  return compiled !== entry && existsSync(compiled) ? [compiled] : ['--import', tsx, entry];
}
