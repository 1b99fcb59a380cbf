// Interrupted writes (issue 14.4), with real signals sent to a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { nodeEntryArgs } from '../../test/helpers/node-entry.js';
import { removeStaleTempFiles, writeFileAtomic, writeFilesAtomic } from './atomic.js';

const child = resolve(import.meta.dirname, '../../test/helpers/atomic-child.ts');

function oldDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `w${String(i).padStart(2, '0')}.yaml`), `old ${i}\n`);
  writeFileSync(join(dir, 'manifest.json'), '{"old":true}\n');
  return dir;
}

/** Runs the child until it prints HOLD, sends `signal`, resolves with how it ended. */
function runAndKill(
  dir: string,
  args: string[],
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [...nodeEntryArgs(child), dir, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('HOLD\n') && !p.killed) p.kill(signal);
    });
    p.on('error', fail);
    p.on('exit', (code, sig) => {
      clearTimeout(timer);
      done({ code, signal: sig, stdout });
    });
  });
}

const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));
const content = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8');

describe('writeFilesAtomic interrupted', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while staging removes every temp file and changes nothing`, async () => {
      const dir = oldDir();
      const r = await runAndKill(dir, ['staged'], signal);
      assert.equal(r.signal, signal, `child ended with ${r.code}/${r.signal}`);
      assert.deepEqual(temps(dir), []);
      assert.equal(content(dir, 'manifest.json'), '{"old":true}\n');
      assert.equal(content(dir, 'w00.yaml'), 'old 0\n');
    });
  }

  it('SIGINT during the renames finishes them, then exits: all new, no temp files', async () => {
    const dir = oldDir();
    const r = await runAndKill(dir, ['renamed', '5'], 'SIGINT');
    assert.equal(r.signal, 'SIGINT');
    assert.deepEqual(temps(dir), []);
    assert.equal(content(dir, 'manifest.json'), '{"new":true}\n');
    assert.equal(content(dir, 'w19.yaml'), 'new 19\n');
  });

  it('SIGKILL during the renames: the manifest (last) is still old; the next write removes the stale temps', async () => {
    const dir = oldDir();
    const r = await runAndKill(dir, ['renamed', '5'], 'SIGKILL');
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(
      content(dir, 'manifest.json'),
      '{"old":true}\n',
      'the manifest never describes YAML not written',
    );
    assert.equal(content(dir, 'w05.yaml'), 'new 5\n');
    assert.equal(content(dir, 'w06.yaml'), 'old 6\n');
    assert.equal(temps(dir).length, 15, 'the killed run left its unrenamed temp files');
    // A later run cleans them up (their PID is gone), and leaves other files alone.
    writeFileSync(join(dir, '.notes.tmp'), 'not ours');
    await writeFileAtomic(join(dir, 'other.yaml'), 'x\n');
    assert.deepEqual(temps(dir), ['.notes.tmp']);
  });

  it('keeps temp files of a live process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const mine = join(dir, `.a.yaml.contrast-${process.pid}-0123456789ab.tmp`);
    writeFileSync(mine, '');
    assert.deepEqual(await removeStaleTempFiles(dir), []);
    assert.deepEqual(temps(dir), [`.a.yaml.contrast-${process.pid}-0123456789ab.tmp`]);
  });
});

describe('writeFilesAtomic targets', () => {
  it('writes through a symlink to its target; the link stays a link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real/pod.yaml'), 'old\n');
    symlinkSync('real/pod.yaml', join(dir, 'link.yaml'));
    await writeFilesAtomic([{ path: join(dir, 'link.yaml'), data: 'new\n' }]);
    assert.ok(lstatSync(join(dir, 'link.yaml')).isSymbolicLink());
    assert.equal(content(dir, 'real/pod.yaml'), 'new\n');
    assert.deepEqual(temps(join(dir, 'real')), []);
  });

  it('never replaces a device or FIFO (here /dev/null)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    symlinkSync('/dev/null', join(dir, 'null.yaml'));
    await assert.rejects(writeFileAtomic(join(dir, 'null.yaml'), 'x'), /not a regular file/);
    assert.ok(lstatSync(join(dir, 'null.yaml')).isSymbolicLink());
  });
});
