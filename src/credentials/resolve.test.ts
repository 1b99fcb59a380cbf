// The resolver against real config files in a temporary HOME and real helper processes.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import {
  b64,
  credentialFixture,
  helpers,
  shellGetHelper,
  type CredentialFixture,
} from '../../test/credentials-fixture.js';
import { requireLab } from '../../test/helpers/lab.js';
import { ContrastError } from '../internal/errors.js';
import { setLogLevel, setLogSink, type LogSink } from '../internal/log.js';
import { parseReference } from '../reference/index.js';
import { forgetCredential, resolveCredential } from './resolve.js';
import type { CredentialOptions } from './types.js';

let fx: CredentialFixture;
let logged: string[];
let previousSink: LogSink;
const fixtures: CredentialFixture[] = [];

beforeEach(() => {
  fx = credentialFixture();
  fixtures.push(fx);
  logged = [];
  previousSink = setLogSink({ write: (line) => logged.push(line) });
  setLogLevel('debug');
  forgetCredential();
});
afterEach(() => {
  setLogSink(previousSink);
});
after(() => {
  for (const f of fixtures) f.cleanup();
});

const basic = (user: string, pass: string): { auth: string } => ({ auth: b64(`${user}:${pass}`) });
const resolve = (target: string, extra: Partial<CredentialOptions> = {}, env: NodeJS.ProcessEnv = {}) =>
  resolveCredential(target, { env: { ...fx.env, ...env }, ...extra });
const dockerConfig = (content: object | string): string => fx.write('home/.docker/config.json', content);
const warnings = (): string[] => logged.filter((l) => l.startsWith('warn: '));

describe('Docker config location', () => {
  it('reads ~/.docker/config.json by default', async () => {
    const path = dockerConfig({ auths: { '127.0.0.1:5001': basic('alice', 'pw-home') } });
    const c = await resolve('127.0.0.1:5001/test/app:v1');
    assert.equal(c.kind, 'basic');
    assert.equal(c.username, 'alice');
    assert.equal(c.password, 'pw-home');
    assert.deepEqual(c.source, {
      type: 'file',
      path,
      key: '127.0.0.1:5001',
      description: `${path}, key "127.0.0.1:5001"`,
    });
    assert.equal(c.registry, '127.0.0.1:5001');
  });

  it('reads config.json inside DOCKER_CONFIG when it is a directory', async () => {
    dockerConfig({ auths: { 'r.io': basic('home', 'pw-home') } });
    const path = fx.write('dc/config.json', { auths: { 'r.io': basic('dir', 'pw-dir') } });
    const c = await resolve('r.io', {}, { DOCKER_CONFIG: join(fx.root, 'dc') });
    assert.equal(c.username, 'dir');
    assert.equal(c.source.path, path);
  });

  it('reads DOCKER_CONFIG itself when it is a regular file (the guide’s mktemp script)', async () => {
    const path = fx.write('tmp.XXXX', { auths: { 'r.io': basic('file', 'pw-file') } });
    const c = await resolve('r.io', {}, { DOCKER_CONFIG: path });
    assert.equal(c.username, 'file');
    assert.equal(c.source.path, path);
    assert.ok(logged.some((l) => l.includes('DOCKER_CONFIG names a regular file')));
  });

  it('treats an empty DOCKER_CONFIG as unset, never as the current directory', async (t) => {
    dockerConfig({ auths: { 'r.io': basic('home', 'pw-home') } });
    const cwd = join(fx.root, 'cwd');
    mkdirSync(cwd);
    fx.write('cwd/config.json', { auths: { 'r.io': basic('cwd', 'pw-cwd') } });
    const before = process.cwd();
    process.chdir(cwd);
    t.after(() => process.chdir(before));
    const c = await resolve('r.io', {}, { DOCKER_CONFIG: '' });
    assert.equal(c.username, 'home');
  });

  it('falls back to the OS home directory when HOME is unset', async () => {
    const env = { ...fx.env };
    delete env['HOME'];
    const c = await resolveCredential('unlikely-registry.invalid:1', { env });
    assert.equal(c.kind, 'anonymous');
  });

  it('treats a missing DOCKER_CONFIG directory and a zero-byte file as empty, without warnings', async () => {
    const empty = fx.write('empty.json', '');
    assert.equal((await resolve('r.io', {}, { DOCKER_CONFIG: empty })).kind, 'anonymous');
    assert.equal((await resolve('r.io', {}, { DOCKER_CONFIG: join(fx.root, 'nope') })).kind, 'anonymous');
    assert.deepEqual(warnings(), []);
  });

  it('warns about a broken config (file, line, column; no secret) and keeps looking', async () => {
    const secret = b64('victim:leaky-password');
    const broken = dockerConfig(`{"auths": {"r.io": {"auth": "${secret}"}},, }`);
    fx.write('home/.config/containers/auth.json', { auths: { 'r.io': basic('podman', 'pw-podman') } });
    const c = await resolve('r.io');
    assert.equal(c.username, 'podman');
    const w = warnings().join('\n');
    assert.match(
      w,
      new RegExp(
        `${broken.replace(/[.]/g, '\\.')} is not a valid config file \\(JSON syntax error at line 1, column \\d+\\)`,
      ),
    );
    assert.ok(!logged.join('\n').includes(secret));
    assert.ok(!logged.join('\n').includes('leaky-password'));
    assert.ok(c.attempts?.some((a) => a.startsWith(`${broken}: invalid`)));
  });

  it('warns when DOCKER_CONFIG/config.json cannot be read and continues', async () => {
    const file = fx.write('plain', 'x');
    // DOCKER_CONFIG=<file>/sub: Docker gets ENOTDIR here.
    const c = await resolve('r.io', {}, { DOCKER_CONFIG: join(file, 'sub') });
    assert.equal(c.kind, 'anonymous');
    assert.ok(warnings().some((w) => w.includes('a parent of it is a regular file')));
  });
});

describe('DOCKER_AUTH_CONFIG and extra entries', () => {
  it('consults DOCKER_AUTH_CONFIG before the config file', async () => {
    dockerConfig({ auths: { 'r.io': basic('file', 'pw-file') } });
    const c = await resolve(
      'r.io/x',
      {},
      { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'https://r.io': basic('env', 'pw-env') } }) },
    );
    assert.equal(c.username, 'env');
    assert.deepEqual(c.source, {
      type: 'env',
      key: 'https://r.io',
      description: 'DOCKER_AUTH_CONFIG, key "https://r.io"',
    });
  });

  it('ignores a broken DOCKER_AUTH_CONFIG with a warning', async () => {
    dockerConfig({ auths: { 'r.io': basic('file', 'pw-file') } });
    const c = await resolve('r.io', {}, { DOCKER_AUTH_CONFIG: '{not json' });
    assert.equal(c.username, 'file');
    assert.ok(warnings().some((w) => w.includes('DOCKER_AUTH_CONFIG is not a valid config document')));
  });

  it('consults extra entries (pull secrets) first, in order', async () => {
    dockerConfig({ auths: { 'r.io': basic('file', 'pw-file') } });
    const source = {
      type: 'pull-secret' as const,
      path: 'ns/regcred',
      description: 'imagePullSecret default/regcred',
    };
    const c = await resolve('r.io/app', {
      extraEntries: [
        { auths: { 'other.io': basic('x', 'y') }, source: { ...source, description: 'first' } },
        { auths: { 'r.io': basic('secret-user', 'pw-secret') }, source },
      ],
    });
    assert.equal(c.username, 'secret-user');
    assert.deepEqual(c.source, {
      ...source,
      key: 'r.io',
      description: 'imagePullSecret default/regcred, key "r.io"',
    });
  });
});

describe('explicit auth file', () => {
  it('reads only the --authfile file', async () => {
    dockerConfig({ auths: { 'r.io': basic('docker', 'pw-docker') } });
    const path = fx.write('mine.json', { auths: { 'r.io': basic('mine', 'pw-mine') } });
    assert.equal((await resolve('r.io', { authFile: path })).username, 'mine');
    const other = fx.write('other.json', { auths: {} });
    assert.equal((await resolve('r.io', { authFile: other })).kind, 'anonymous');
  });

  it('refuses a missing or broken --authfile', async () => {
    await assert.rejects(
      resolve('r.io', { authFile: join(fx.root, 'missing.json') }),
      /missing\.json given with --authfile is not found/,
    );
    const broken = fx.write('broken.json', '{');
    await assert.rejects(
      resolve('r.io', { authFile: broken }),
      /broken\.json given with --authfile is invalid/,
    );
  });
});

describe('Podman / containers-image files', () => {
  it('uses Podman files only when the Docker config yields nothing', async () => {
    fx.write('home/.config/containers/auth.json', { auths: { 'r.io': basic('podman', 'pw-podman') } });
    assert.equal((await resolve('r.io')).username, 'podman');
    dockerConfig({ auths: { 'r.io': basic('docker', 'pw-docker') } });
    assert.equal((await resolve('r.io')).username, 'docker');
  });

  it('reads $XDG_RUNTIME_DIR/containers/auth.json before ${XDG_CONFIG_HOME}/containers/auth.json', async () => {
    const runtime = fx.write('run/containers/auth.json', { auths: { 'r.io': basic('runtime', 'pw-rt') } });
    fx.write('xdg/containers/auth.json', {
      auths: { 'r.io': basic('config', 'pw-cfg'), 'only.io': basic('cfg2', 'pw') },
    });
    const env = { XDG_RUNTIME_DIR: join(fx.root, 'run'), XDG_CONFIG_HOME: join(fx.root, 'xdg') };
    const c = await resolve('r.io', {}, env);
    assert.equal(c.username, 'runtime');
    assert.equal(c.source.path, runtime);
    assert.equal((await resolve('only.io', {}, env)).username, 'cfg2');
  });

  it('skips XDG_RUNTIME_DIR when unset, without error', async () => {
    fx.write('home/.config/containers/auth.json', { auths: { 'r.io': basic('config', 'pw-cfg') } });
    assert.equal((await resolve('r.io')).username, 'config');
  });

  it('reads only REGISTRY_AUTH_FILE when it is set', async () => {
    fx.write('home/.config/containers/auth.json', { auths: { 'r.io': basic('config', 'pw-cfg') } });
    const explicit = fx.write('ra.json', { auths: { 'q.io': basic('ra', 'pw-ra') } });
    const env = { REGISTRY_AUTH_FILE: explicit };
    assert.equal((await resolve('q.io', {}, env)).username, 'ra');
    assert.equal((await resolve('r.io', {}, env)).kind, 'anonymous');
  });

  it('reads legacy ~/.dockercfg (the bare auths map) last', async () => {
    const path = fx.write('home/.dockercfg', {
      'https://legacy.io': { auth: b64('old:pw-old'), email: 'x@y' },
    });
    const c = await resolve('legacy.io/app');
    assert.equal(c.username, 'old');
    assert.equal(c.source.path, path);
  });

  it('uses credHelpers of a Podman file but not its credsStore', async () => {
    fx.helper('echo', helpers.echo);
    fx.write('home/.config/containers/auth.json', {
      credHelpers: { 'h.io': 'echo' },
      credsStore: 'echo',
      auths: { 's.io': basic('file', 'pw-file') },
    });
    assert.equal((await resolve('h.io')).source.type, 'helper');
    const s = await resolve('s.io');
    assert.equal(s.source.type, 'file');
    assert.ok(s.attempts?.some((a) => a.includes('not used (Podman auth files have no credsStore)')));
  });

  it('reads the lab’s auth file', async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const c = await resolve(`${l.c}/test/app:v1`, {}, { REGISTRY_AUTH_FILE: l.authFile });
    assert.equal(c.kind, 'basic');
    assert.equal(c.source.key, l.c);
  });
});

describe('matching auths keys', () => {
  it('prefers namespaced keys, most specific first, over the host key', async () => {
    dockerConfig({
      auths: {
        'quay.io': basic('host', 'p1'),
        'quay.io/org': basic('org', 'p2'),
        'quay.io/org/team': basic('team', 'p3'),
      },
    });
    assert.equal((await resolve('quay.io/org/team/app:1')).username, 'team');
    assert.equal((await resolve('quay.io/org/other')).username, 'org');
    assert.equal((await resolve('quay.io/orgx/app')).username, 'host');
    assert.equal((await resolve('quay.io')).username, 'host');
  });

  it('matches keys with scheme and path, case-insensitive hosts, and keeps ports significant', async () => {
    dockerConfig({
      auths: {
        'https://Registry.Example.com/v2/': basic('scheme', 'p1'),
        'http://plain.io': basic('http', 'p2'),
        'host.io:5000': basic('port', 'p3'),
      },
    });
    assert.equal((await resolve('registry.example.com/app')).username, 'scheme');
    assert.equal((await resolve('plain.io')).username, 'http');
    assert.equal((await resolve('host.io:5000/app')).username, 'port');
    assert.equal((await resolve('host.io/app')).kind, 'anonymous');
  });

  for (const key of [
    'https://index.docker.io/v1/',
    'docker.io',
    'index.docker.io',
    'registry-1.docker.io',
    'https://docker.io/v1/',
  ]) {
    it(`finds Docker Hub credentials stored under ${key}`, async () => {
      dockerConfig({ auths: { [key]: basic('hubuser', 'pw-hub') } });
      for (const target of [
        'nginx',
        'docker.io/library/nginx:1',
        'index.docker.io/u/app',
        'registry-1.docker.io',
        'docker.io',
      ]) {
        const c = await resolve(target);
        assert.equal(c.username, 'hubuser', `${target} with key ${key}`);
        assert.equal(c.registry, 'docker.io');
      }
    });
  }

  it("breaks ties deterministically: Docker's spelling, then the smallest key", async () => {
    dockerConfig({
      auths: {
        'registry-1.docker.io': basic('r1', 'p'),
        'https://index.docker.io/v1/': basic('docker', 'p'),
        'docker.io': basic('io', 'p'),
      },
    });
    assert.equal((await resolve('nginx')).username, 'docker');
    dockerConfig({
      auths: { 'registry-1.docker.io': basic('r1', 'p'), 'index.docker.io': basic('idx', 'p') },
    });
    assert.equal((await resolve('nginx')).username, 'idx');
  });

  it('passes over {} markers and broken entries to the next matching key, recording why', async () => {
    dockerConfig({ auths: { 'quay.io/org': {}, 'quay.io': basic('host', 'pw') } });
    const c = await resolve('quay.io/org/app');
    assert.equal(c.username, 'host');
    assert.ok(c.attempts?.some((a) => a.includes('key "quay.io/org": empty entry {}')));
    dockerConfig({ auths: { 'quay.io': {} } });
    const marker = await resolve('quay.io/org/app');
    assert.equal(marker.kind, 'anonymous');
  });

  it('returns identity tokens (ACR) and registry tokens with their kind', async () => {
    dockerConfig({
      auths: {
        'acr.azurecr.io': {
          auth: b64('00000000-0000-0000-0000-000000000000:'),
          identitytoken: 'acr-refresh-token',
        },
        'tok.io': { registrytoken: 'ready-bearer-token' },
      },
    });
    const acr = await resolve('acr.azurecr.io/app');
    assert.equal(acr.kind, 'identity-token');
    assert.equal(acr.identityToken, 'acr-refresh-token');
    assert.equal(acr.username, '00000000-0000-0000-0000-000000000000');
    const tok = await resolve('tok.io/app');
    assert.equal(tok.kind, 'registry-token');
    assert.equal(tok.registryToken, 'ready-bearer-token');
  });

  it('accepts Reference objects', async () => {
    dockerConfig({ auths: { 'https://index.docker.io/v1/': basic('hubuser', 'pw-hub') } });
    assert.equal((await resolveCredential(parseReference('nginx'), { env: fx.env })).username, 'hubuser');
  });
});

describe('credential helpers', () => {
  it('runs credHelpers[registry] with the server on stdin, before credsStore and the file', async () => {
    fx.helper('echo', helpers.echo);
    fx.helper('teststore', helpers.store);
    const path = dockerConfig({
      credHelpers: { 'h.io': 'echo' },
      credsStore: 'teststore',
      auths: { 'h.io': basic('file', 'pw') },
    });
    const c = await resolve('h.io/app:1');
    assert.equal(c.kind, 'basic');
    assert.equal(c.username, 'h.io'); // the echo helper answers with the address it got
    assert.equal(c.password, 'echo-secret-pw-4711');
    assert.deepEqual(c.source, {
      type: 'helper',
      path,
      key: 'h.io',
      helper: 'echo',
      description: `docker-credential-echo (credHelpers in ${path}, key "h.io")`,
    });
    assert.deepEqual(fx.helperLog(), ['echo get h.io']);
  });

  it("finds a helper under a URL key, and passes Docker's spelling for Docker Hub", async () => {
    fx.helper('echo', helpers.echo);
    dockerConfig({ credHelpers: { 'https://h.io/': 'echo', 'index.docker.io': 'echo' } });
    assert.equal((await resolve('h.io')).username, 'h.io');
    assert.equal((await resolve('nginx')).username, 'https://index.docker.io/v1/');
  });

  it('reads "<token>" answers as identity tokens', async () => {
    fx.helper(
      'acr',
      shellGetHelper('acr', '{"ServerURL":"x","Username":"<token>","Secret":"helper-refresh-token"}'),
    );
    dockerConfig({ credHelpers: { 'acr.azurecr.io': 'acr' } });
    const c = await resolve('acr.azurecr.io/app');
    assert.equal(c.kind, 'identity-token');
    assert.equal(c.username, null);
    assert.equal(c.identityToken, 'helper-refresh-token');
  });

  it('matches helper JSON field names case-insensitively', async () => {
    fx.helper('lower', shellGetHelper('lower', '{"serverurl":"x","username":"low","secret":"low-secret-1"}'));
    dockerConfig({ credsStore: 'lower' });
    const c = await resolve('any.io');
    assert.equal(c.username, 'low');
    assert.equal(c.password, 'low-secret-1');
  });

  it('uses credsStore exclusively-first: its answer wins over the file entry', async () => {
    fx.helper('teststore', helpers.store);
    fx.write('helper-state.json', { 'r.io': { Username: 'stored', Secret: 'pw-stored' } });
    const path = dockerConfig({ credsStore: 'teststore', auths: { 'r.io': basic('file', 'pw-file') } });
    const c = await resolve('r.io');
    assert.equal(c.username, 'stored');
    assert.deepEqual(c.source, {
      type: 'helper',
      path,
      helper: 'teststore',
      description: `docker-credential-teststore (credsStore in ${path})`,
    });
  });

  it('falls back to the file entry when credsStore has nothing (not-found sentinel)', async () => {
    fx.helper('notfound', helpers.notFound);
    dockerConfig({ credsStore: 'notfound', auths: { 'r.io': basic('file', 'pw-file') } });
    const c = await resolve('r.io');
    assert.equal(c.username, 'file');
    assert.ok(
      c.attempts?.some(
        (a) =>
          a.includes('docker-credential-notfound (credsStore in') && a.includes('no credential for r.io'),
      ),
    );
    assert.deepEqual(fx.helperLog(), ['notfound get r.io']);
  });

  it('treats the not-found sentinel of a credHelper as no credential (anonymous, no error)', async () => {
    fx.helper('notfound', helpers.notFound);
    dockerConfig({ credHelpers: { 'r.io': 'notfound' } });
    assert.equal((await resolve('r.io')).kind, 'anonymous');
  });

  it('an empty credHelpers value means the file entry, skipping credsStore', async () => {
    fx.helper('teststore', helpers.store);
    fx.write('helper-state.json', { 'r.io': { Username: 'stored', Secret: 'pw-stored' } });
    dockerConfig({
      credsStore: 'teststore',
      credHelpers: { 'r.io': '' },
      auths: { 'r.io': basic('file', 'pw-file') },
    });
    assert.equal((await resolve('r.io')).username, 'file');
    assert.deepEqual(fx.helperLog(), []);
  });

  it('fails clearly when a credHelpers binary is missing: helper, key and file named', async () => {
    const path = dockerConfig({
      credHelpers: { 'gcr.io': 'gcloud-missing' },
      auths: { 'gcr.io': basic('file', 'pw') },
    });
    await assert.rejects(resolve('gcr.io/p/app'), (err: unknown) => {
      assert.ok(err instanceof ContrastError);
      assert.equal(err.code, 'HELPER_MISSING');
      assert.ok(err.message.includes('docker-credential-gcloud-missing'));
      assert.ok(err.message.includes(`credHelpers in ${path}, key "gcr.io"`));
      return true;
    });
  });

  it('warns and uses the file entry when the credsStore binary is missing (leftover Docker Desktop)', async () => {
    const path = dockerConfig({ credsStore: 'desktop', auths: { 'r.io': basic('file', 'pw-file') } });
    const c = await resolve('r.io');
    assert.equal(c.username, 'file');
    assert.ok(
      warnings().some((w) => w.includes('docker-credential-desktop') && w.includes(`credsStore in ${path}`)),
    );
  });

  it('reports a failing helper with its message, never falling back silently', async () => {
    fx.helper('failing', helpers.failing);
    const path = dockerConfig({ credsStore: 'failing', auths: { 'r.io': basic('file', 'pw-file') } });
    await assert.rejects(resolve('r.io'), (err: unknown) => {
      assert.ok(err instanceof ContrastError);
      assert.match(
        err.message,
        /docker-credential-failing get \(credsStore in .*\) failed with exit status 1: error: the keychain is locked; details on stderr/,
      );
      assert.ok(err.message.includes(path));
      return true;
    });
  });

  it('reports a helper that answers garbage', async () => {
    fx.helper('garbage', helpers.garbage);
    dockerConfig({ credHelpers: { 'r.io': 'garbage' } });
    await assert.rejects(
      resolve('r.io'),
      /docker-credential-garbage get .* answered something that is not JSON/,
    );
  });

  it('stops a slow helper after the timeout', async () => {
    fx.helper('slow', helpers.slow);
    dockerConfig({ credHelpers: { 'r.io': 'slow' } });
    const started = Date.now();
    await assert.rejects(
      resolve('r.io', { helperTimeoutMs: 300 }),
      /docker-credential-slow \(credHelpers in .*\) did not answer within 0\.3 s/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  it('stops a helper that writes more than 1 MiB', async () => {
    fx.helper('flood', "#!/bin/sh\ncat >/dev/null\nhead -c 3000000 /dev/zero | tr '\\0' a\n");
    dockerConfig({ credHelpers: { 'r.io': 'flood' } });
    await assert.rejects(
      resolve('r.io'),
      /docker-credential-flood \(credHelpers in .*\) wrote more than 1 MiB/,
    );
  });

  it('asks a helper once per registry per run, and again after forgetCredential', async () => {
    fx.helper('echo', helpers.echo);
    dockerConfig({ credsStore: 'echo' });
    await Promise.all([resolve('r.io/a'), resolve('r.io/b'), resolve('r.io')]);
    assert.equal(fx.helperLog().length, 1);
    forgetCredential('r.io');
    await resolve('r.io');
    assert.equal(fx.helperLog().length, 2);
  });

  it('never lets a secret into the log, even at debug level', async () => {
    fx.helper('echo', helpers.echo);
    dockerConfig({
      credHelpers: { 'h.io': 'echo' },
      auths: { 'r.io': { auth: b64('u:pw-file-secret'), username: 'u', password: 'other-secret' } },
    });
    await resolve('h.io');
    await resolve('r.io');
    const all = logged.join('\n');
    for (const s of ['echo-secret-pw-4711', 'pw-file-secret', b64('u:pw-file-secret'), 'other-secret'])
      assert.ok(!all.includes(s), s);
    assert.ok(readFileSync(join(fx.home, '.docker/config.json'), 'utf8').includes(b64('u:pw-file-secret')));
  });
});
