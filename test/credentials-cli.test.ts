// `contrast auth show`, `login` and `logout` as a user runs them: real CLI process, real files,
// real helper processes, and the Contrast registry-authentication guide's script.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  b64,
  credentialFixture,
  helpers,
  shellGetHelper,
  type CredentialFixture,
} from './credentials-fixture.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { fillGuideScript, installContrast } from './helpers/guide-script.js';
import { repoRoot } from './helpers/shared.js';

const fixtures: CredentialFixture[] = [];
function fixture(): CredentialFixture {
  const fx = credentialFixture();
  fixtures.push(fx);
  return fx;
}
after(() => {
  for (const f of fixtures) f.cleanup();
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

// These tests are about where credentials are stored, not whether a registry accepts them: when
// `login` checks credentials against the registry (a later issue), they skip that check.
const loginSource = readFileSync(join(repoRoot, 'src/cli/login.ts'), 'utf8');
const noVerify = loginSource.includes("'--no-verify'") ? ['--no-verify'] : [];
const login = (args: string[], options: Parameters<typeof runCli>[1]): Promise<CliResult> =>
  runCli(['login', ...noVerify, ...args], options);

describe("the Contrast guide's DOCKER_CONFIG=$(mktemp) script", () => {
  it('resolves the credential the script wrote', async () => {
    const fx = fixture();
    installContrast(fx.bin);
    // `contrast generate` is swapped for `contrast auth show` here (same lookup, no Kubernetes files);
    // test/generate-e2e.test.ts runs the script unchanged against the lab.
    const script = fillGuideScript('127.0.0.1:5001', 'guide-user', 'guide-client-secret-99').replace(
      'contrast generate "$@"',
      'contrast auth show "$@"',
    );
    const path = fx.write('guide.sh', script);
    const r = await run('sh', [path, '127.0.0.1:5001/test/app:v1', '--json'], fx.env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out['registry'], '127.0.0.1:5001');
    assert.equal(out['kind'], 'basic');
    assert.equal(out['username'], 'guide-user');
    const source = out['source'] as Record<string, unknown>;
    assert.equal(source['type'], 'file');
    assert.equal(source['key'], '127.0.0.1:5001');
    assert.ok(String(source['path']).startsWith(`${fx.root}/tmp.`), String(source['path'])); // the mktemp file
    assert.ok(!r.stdout.includes('guide-client-secret-99') && !r.stderr.includes('guide-client-secret-99'));
  });
});

describe('contrast auth show', () => {
  it('--json has exactly the documented shape', async () => {
    const fx = fixture();
    const path = fx.write('home/.docker/config.json', { auths: { 'r.io': { auth: b64('u1:pw-shape-1') } } });
    const image = await runCli(['auth', 'show', 'r.io/team/app:1', '--json'], { env: fx.env });
    assert.equal(image.code, 0, image.stderr);
    assert.deepEqual(JSON.parse(image.stdout), {
      registry: 'r.io',
      reference: 'r.io/team/app:1',
      kind: 'basic',
      username: 'u1',
      source: { type: 'file', path, key: 'r.io', description: `${path}, key "r.io"` },
      attempts: [],
    });
    const anon = await runCli(['auth', 'show', 'https://Other.io/v2/', '--json'], { env: fx.env });
    const body = JSON.parse(anon.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['registry', 'kind', 'username', 'source', 'attempts']);
    assert.equal(body['registry'], 'other.io');
    assert.equal(body['kind'], 'anonymous');
    assert.equal(body['username'], null);
    assert.deepEqual(body['source'], { type: 'none', description: 'no credential found: anonymous access' });
    assert.ok((body['attempts'] as string[]).some((a) => a.startsWith(`${path}: no entry for other.io`)));
  });

  it('prints the source in text form and says where it looked when anonymous', async () => {
    const fx = fixture();
    fx.helper('acr', shellGetHelper('acr', '{"Username":"<token>","Secret":"text-form-token"}'));
    const path = fx.write('home/.docker/config.json', { credHelpers: { 'acr.azurecr.io': 'acr' } });
    const r = await runCli(['auth', 'show', 'acr.azurecr.io/app@sha256:' + 'a'.repeat(64)], { env: fx.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^registry: acr\.azurecr\.io$/m);
    assert.match(r.stdout, /^kind: +identity-token$/m);
    assert.ok(
      r.stdout.includes(`source:   docker-credential-acr (credHelpers in ${path}, key "acr.azurecr.io")`),
    );
    const anon = await runCli(['auth', 'show', 'nginx'], { env: fx.env });
    assert.match(anon.stdout, /kind: +anonymous/);
    assert.ok(anon.stdout.includes(`looked at:\n  - ${path}: no entry for docker.io/library/nginx`));
  });

  it('fails with the helper, key and file named when a credHelpers binary is missing', async () => {
    const fx = fixture();
    const path = fx.write('home/.docker/config.json', { credHelpers: { 'gcr.io': 'gcr' } });
    const r = await runCli(['auth', 'show', 'gcr.io/p/app'], { env: fx.env });
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(`docker-credential-gcr (credHelpers in ${path}, key "gcr.io") is not installed`),
      r.stderr,
    );
    assert.equal(r.stdout, '');
  });

  it('rejects an invalid reference with a message naming it', async () => {
    const fx = fixture();
    const r = await runCli(['auth', 'show', 'Registry.io/Bad/Name'], { env: fx.env });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /invalid image reference "Registry\.io\/Bad\/Name": repository name must be lowercase/,
    );
  });
});

describe('contrast login / logout', () => {
  it('stores with --password-stdin, is resolved by auth show, and is removed by logout', async () => {
    const fx = fixture();
    const stored = await login(['127.0.0.1:5001', '-u', 'alice', '--password-stdin'], {
      env: fx.env,
      input: 'stdin-pass-42\n',
    });
    assert.equal(stored.code, 0, stored.stderr);
    assert.equal(stored.stdout, 'Login Succeeded\n');
    const path = join(fx.home, '.docker/config.json');
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
      auths: { '127.0.0.1:5001': { auth: b64('alice:stdin-pass-42') } },
    });
    const show = await runCli(['auth', 'show', '127.0.0.1:5001', '--json'], { env: fx.env });
    assert.equal((JSON.parse(show.stdout) as { username: string }).username, 'alice');
    const logout = await runCli(['logout', '127.0.0.1:5001'], { env: fx.env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(logout.stdout, 'Removing login credentials for 127.0.0.1:5001\n');
    const again = await runCli(['logout', '127.0.0.1:5001'], { env: fx.env });
    assert.equal(again.stdout, 'Not logged in to 127.0.0.1:5001\n');

    // -p works but warns; logout says when another file still holds a credential
    const podman = fx.write('home/.config/containers/auth.json', {
      auths: { 'q.io': { auth: b64('pod:pw-pod-1') } },
    });
    const withP = await login(['https://q.io/', '-u', 'bob', '-p', 'pw-bob-1'], { env: fx.env });
    assert.equal(withP.code, 0, withP.stderr);
    assert.match(withP.stderr, /use --password-stdin/);
    const out = await runCli(['logout', 'q.io'], { env: fx.env });
    assert.equal(out.stdout, 'Removing login credentials for q.io\n');
    assert.ok(
      out.stderr.includes(`q.io still has a credential: basic for user "pod" from ${podman}, key "q.io"`),
      out.stderr,
    );

    // --authfile on both sides
    const authFile = join(fx.root, 'auth.json');
    await login(['a.io', '-u', 'af', '--password-stdin', '--authfile', authFile], {
      env: fx.env,
      input: 'pw-af-1',
    });
    const shown = await runCli(['auth', 'show', 'a.io', '--json', '--authfile', authFile], { env: fx.env });
    assert.deepEqual((JSON.parse(shown.stdout) as { source: unknown }).source, {
      type: 'file',
      path: authFile,
      key: 'a.io',
      description: `${authFile}, key "a.io"`,
    });
  });

  it('refuses a login without password or with both password options', async () => {
    const fx = fixture();
    const none = await login(['r.io', '-u', 'a'], { env: fx.env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no password given/);
    const both = await login(['r.io', '-u', 'a', '-p', 'x', '--password-stdin'], {
      env: fx.env,
      input: 'y',
    });
    assert.equal(both.code, 1);
    assert.match(both.stderr, /mutually exclusive/);
  });
});

describe('no secret in any output', () => {
  it('auth show, login and logout never print a secret, even with --log-level debug', async () => {
    const fx = fixture();
    const secrets = {
      filePassword: 'file-password-Zq1',
      cliPassword: 'cli-password-Wx2',
      stdinPassword: 'stdin-password-Yv3',
      identity: 'identity-token-Ku4',
      registry: 'registry-token-Lm5',
      helper: 'echo-secret-pw-4711',
    };
    fx.helper('echo', helpers.echo);
    fx.helper('teststore', helpers.store);
    fx.helper('failing', helpers.failing);
    fx.write('home/.docker/config.json', {
      credHelpers: { 'h.io': 'echo', 'bad.io': 'failing', 'store.io': 'teststore' },
      auths: {
        'f.io': { auth: b64(`fu:${secrets.filePassword}`), username: 'fu', password: 'disagreeing-pw-Np6' },
        'i.io': { auth: b64('iu:'), identitytoken: secrets.identity },
        't.io': { registrytoken: secrets.registry },
        'broken.io': { auth: b64(`nocolon${secrets.filePassword}`) },
      },
    });
    fx.write(
      'home/.config/containers/auth.json',
      `{"auths": {"p.io": {"auth": "${b64(`pu:${secrets.filePassword}`)}"}}`,
    );
    const outputs: CliResult[] = [];
    const debug = ['--log-level', 'debug'];
    for (const target of ['f.io/a', 'i.io', 't.io', 'h.io', 'bad.io', 'broken.io', 'p.io']) {
      outputs.push(await runCli([...debug, 'auth', 'show', target], { env: fx.env }));
      outputs.push(await runCli([...debug, 'auth', 'show', target, '--json'], { env: fx.env }));
    }
    outputs.push(
      await runCli([...debug, 'login', ...noVerify, 'l.io', '-u', 'lu', '-p', secrets.cliPassword], {
        env: fx.env,
      }),
    );
    outputs.push(
      await runCli([...debug, 'login', ...noVerify, 'store.io', '-u', 'su', '--password-stdin'], {
        env: fx.env,
        input: secrets.stdinPassword,
      }),
    );
    outputs.push(await runCli([...debug, 'auth', 'show', 'store.io', '--json'], { env: fx.env }));
    outputs.push(await runCli([...debug, 'logout', 'l.io'], { env: fx.env }));
    outputs.push(await runCli([...debug, 'logout', 'store.io'], { env: fx.env }));
    outputs.push(await runCli([...debug, 'logout', 'f.io'], { env: fx.env }));

    assert.equal(outputs.filter((o) => o.code === 0).length, outputs.length - 2); // bad.io text + json fail
    assert.ok(outputs.some((o) => o.stderr.includes('the keychain is locked')));
    const everything = outputs.map((o) => o.stdout + o.stderr).join('\n');
    const forbidden = [
      ...Object.values(secrets),
      'disagreeing-pw-Np6',
      b64(`fu:${secrets.filePassword}`),
      b64(`pu:${secrets.filePassword}`),
      b64(`lu:${secrets.cliPassword}`),
    ];
    for (const s of forbidden) assert.ok(!everything.includes(s), `output contains ${s}`);
    assert.ok(everything.includes('kind:     registry-token'));
  });
});
