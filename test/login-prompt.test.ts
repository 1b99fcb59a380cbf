// `contrast login -u USER` on a terminal prompts for the password without echo (issue 13), as
// docker and podman do. A real pseudo-terminal comes from util-linux `script`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { cliNodeArgs } from './helpers/cli.js';

it('prompts on a terminal, reads the password without echoing it, stores it', async (t) => {
  if (spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status !== 0) {
    t.skip('util-linux script (for a pseudo-terminal) is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'login-prompt-'));
  const authfile = join(dir, 'auth.json');
  const cmd = [
    process.execPath,
    ...cliNodeArgs,
    'login',
    '127.0.0.1:5999',
    '-u',
    'alice',
    '--no-verify',
    '--authfile',
    authfile,
  ]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let typed = false;
  const done = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!typed && out.includes('Password: ')) {
      typed = true;
      child.stdin.write('s3cret-pw\r');
    }
  });
  const code = await done;
  clearTimeout(timer);
  child.stdin.destroy();
  assert.equal(code, 0, out);
  assert.match(out, /Password: /);
  assert.doesNotMatch(out, /s3cret-pw/, 'the password is not echoed');
  assert.match(out, /Login Succeeded/);
  const auth = JSON.parse(readFileSync(authfile, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(auth.auths['127.0.0.1:5999']!.auth, 'base64').toString(), 'alice:s3cret-pw');
});
