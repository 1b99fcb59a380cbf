// Child process for the interrupted-write tests: writes `count` YAML files and manifest.json (last)
// into a directory with writeFilesAtomic and holds at a phase, so the test can kill it there for real.
//   atomic-child.ts DIR staged        hold after every temp file is written
//   atomic-child.ts DIR renamed K     pause 1.5 s after the K-th rename (0-based)
import { join } from 'node:path';
import { writeFilesAtomic } from '../../src/internal/atomic.js';

const [dir, phase, k] = process.argv.slice(2) as [string, string, string | undefined];
const count = 20;
const files = [
  ...Array.from({ length: count }, (_, i) => ({
    path: join(dir, `w${String(i).padStart(2, '0')}.yaml`),
    data: `new ${i}\n`,
  })),
  { path: join(dir, 'manifest.json'), data: '{"new":true}\n' },
];
const hold = (): Promise<void> => {
  setInterval(() => undefined, 1000); // keep the event loop (and so the signal handlers) alive
  return new Promise(() => undefined);
};
await writeFilesAtomic(files, {
  staged: async () => {
    if (phase !== 'staged') return;
    process.stdout.write('HOLD\n');
    await hold();
  },
  renamed: async (i) => {
    if (phase !== 'renamed' || i !== Number(k)) return;
    process.stdout.write('HOLD\n');
    // Long enough for the signal to arrive in the middle of the renames; then carry on.
    await new Promise((r) => setTimeout(r, 1500));
  },
});
process.stdout.write('DONE\n');
