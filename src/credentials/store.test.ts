// login/logout against real files and a real credential-store helper process.
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { b64, credentialFixture, helpers, type CredentialFixture } from '../../test/credentials-fixture.js';
import { ContrastError } from '../internal/errors.js';
import { setLogLevel } from '../internal/log.js';
import { forgetCredential, resolveCredential } from './resolve.js';
import { removeCredential, storeCredential } from './store.js';

let fx: CredentialFixture;
const fixtures: CredentialFixture[] = [];
beforeEach(() => {
  fx = credentialFixture();
  fixtures.push(fx);
  setLogLevel('silent');
  forgetCredential();
});
after(() => {
  for (const f of fixtures) f.cleanup();
});

const creds = { username: 'alice', password: 'pw-alice-123' };
const json = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const mode = (path: string): number => statSync(path).mode & 0o777;

describe('storeCredential', () => {
  it('creates ~/.docker/config.json (dir 0700, file 0600) with auth under host[:port]', async () => {
    const r = await storeCredential('127.0.0.1:5001', creds, { env: fx.env });
    const path = join(fx.home, '.docker/config.json');
    assert.equal(r.path, path);
    assert.equal(r.key, '127.0.0.1:5001');
    assert.deepEqual(json(path), { auths: { '127.0.0.1:5001': { auth: b64('alice:pw-alice-123') } } });
    assert.equal(mode(path), 0o600);
    assert.equal(mode(join(fx.home, '.docker')), 0o700);
    const c = await resolveCredential('127.0.0.1:5001/x', { env: fx.env });
    assert.equal(c.password, 'pw-alice-123');
  });

  it("writes Docker Hub under Docker's key https://index.docker.io/v1/", async () => {
    for (const spelling of [
      'docker.io',
      'index.docker.io',
      'https://index.docker.io/v1/',
      'registry-1.docker.io',
      '',
    ]) {
      const r = await storeCredential(spelling, creds, { env: fx.env });
      assert.equal(r.key, 'https://index.docker.io/v1/');
      assert.equal(r.registry, 'docker.io');
    }
    assert.deepEqual(Object.keys(json(join(fx.home, '.docker/config.json'))['auths'] as object), [
      'https://index.docker.io/v1/',
    ]);
  });

  it('normalizes URLs to host[:port] keys', async () => {
    const r = await storeCredential('https://Registry.Example.com:5000/v2/', creds, { env: fx.env });
    assert.equal(r.key, 'registry.example.com:5000');
  });

  it('writes into $DOCKER_CONFIG/config.json, or into DOCKER_CONFIG itself when it is a regular file', async () => {
    const dir = join(fx.root, 'dc');
    await storeCredential('r.io', creds, { env: { ...fx.env, DOCKER_CONFIG: dir } });
    assert.ok(json(join(dir, 'config.json'))['auths']);
    const file = fx.write('tmp.abc', '');
    const r = await storeCredential('r.io', creds, { env: { ...fx.env, DOCKER_CONFIG: file } });
    assert.equal(r.path, file);
    assert.deepEqual(json(file), { auths: { 'r.io': { auth: b64('alice:pw-alice-123') } } });
  });

  it('keeps every other field and entry of the file, replaces only its own entry', async () => {
    const path = fx.write('home/.docker/config.json', {
      auths: { 'other.io': { auth: b64('o:p') }, 'r.io': { auth: b64('old:old'), identitytoken: 'stale' } },
      credHelpers: { 'gcr.io': 'gcloud' },
      HttpHeaders: { 'User-Agent': 'x' },
      psFormat: 'table {{.ID}}',
      plugins: { a: { b: 'c' } },
    });
    await storeCredential('r.io', creds, { env: fx.env });
    assert.deepEqual(json(path), {
      auths: { 'other.io': { auth: b64('o:p') }, 'r.io': { auth: b64('alice:pw-alice-123') } },
      credHelpers: { 'gcr.io': 'gcloud' },
      HttpHeaders: { 'User-Agent': 'x' },
      psFormat: 'table {{.ID}}',
      plugins: { a: { b: 'c' } },
    });
    assert.equal(mode(path), 0o600);
    assert.deepEqual(readdirSync(join(fx.home, '.docker')), ['config.json']); // no temp file left
  });

  it('writes through a symlinked config to its target', async () => {
    const real = fx.write('dotfiles/docker.json', { auths: {} });
    mkdirSync(join(fx.home, '.docker'));
    symlinkSync(real, join(fx.home, '.docker/config.json'));
    await storeCredential('r.io', creds, { env: fx.env });
    assert.ok(lstatSync(join(fx.home, '.docker/config.json')).isSymbolicLink());
    assert.ok((json(real)['auths'] as Record<string, unknown>)['r.io']);
  });

  it('refuses to touch a config that is not valid JSON', async () => {
    const path = fx.write('home/.docker/config.json', '{"auths": {');
    await assert.rejects(
      storeCredential('r.io', creds, { env: fx.env }),
      /config\.json is not valid JSON .*not changing it/,
    );
    assert.equal(readFileSync(path, 'utf8'), '{"auths": {');
  });

  it('refuses to rewrite a config that is not UTF-8 (its bytes would come back as U+FFFD)', async () => {
    const path = fx.write('home/.docker/config.json', '{}');
    const bytes = Buffer.concat([
      Buffer.from('{\n  "auths": {},\n  "detachKeys": "M'),
      Buffer.from([0xfc, 0x22, 0x7d]),
    ]);
    writeFileSync(path, bytes);
    await assert.rejects(storeCredential('r.io', creds, { env: fx.env }), {
      message: `${path} is not valid UTF-8 (line 3)`,
    });
    assert.deepEqual(readFileSync(path), bytes);
  });

  it('reports unreadable and unwritable destinations as user errors', async () => {
    const file = fx.write('plain-file', 'x');
    await assert.rejects(
      storeCredential('r.io', creds, { env: fx.env, authFile: join(file, 'sub/auth.json') }),
      (err: unknown) => err instanceof ContrastError && /cannot read .*auth\.json: ENOTDIR/.test(err.message),
    );
    assert.equal(readFileSync(file, 'utf8'), 'x');
    // /proc takes no new files, not even from root
    await assert.rejects(
      storeCredential('r.io', creds, { env: fx.env, authFile: '/proc/contrast-test-auth.json' }),
      (err: unknown) =>
        err instanceof ContrastError &&
        /cannot write \/proc\/contrast-test-auth\.json: .*nothing was changed/.test(err.message),
    );
  });

  it('hands the secret to credsStore and leaves a {} marker', async () => {
    fx.helper('teststore', helpers.store);
    const path = fx.write('home/.docker/config.json', { credsStore: 'teststore' });
    const r = await storeCredential('docker.io', creds, { env: fx.env });
    assert.equal(r.helper, 'teststore');
    assert.deepEqual(json(path), { credsStore: 'teststore', auths: { 'https://index.docker.io/v1/': {} } });
    assert.deepEqual(json(fx.env['HELPER_STATE'] as string), {
      'https://index.docker.io/v1/': { Username: 'alice', Secret: 'pw-alice-123' },
    });
    assert.ok(!readFileSync(path, 'utf8').includes('pw-alice'));
    const c = await resolveCredential('nginx', { env: fx.env });
    assert.equal(c.source.type, 'helper');
    assert.equal(c.password, 'pw-alice-123');
  });

  it('prefers credHelpers[registry] over credsStore, and an empty credHelpers value means the file', async () => {
    fx.helper('teststore', helpers.store);
    const path = fx.write('home/.docker/config.json', {
      credsStore: 'missing-store',
      credHelpers: { 'h.io': 'teststore', 'f.io': '' },
    });
    assert.equal((await storeCredential('h.io', creds, { env: fx.env })).helper, 'teststore');
    const f = await storeCredential('f.io', creds, { env: fx.env });
    assert.equal(f.helper, undefined);
    assert.deepEqual((json(path)['auths'] as Record<string, unknown>)['f.io'], {
      auth: b64('alice:pw-alice-123'),
    });
  });

  it('writes --authfile instead of the Docker config', async () => {
    const path = join(fx.root, 'podman-auth.json');
    await storeCredential('r.io', creds, { env: fx.env, authFile: path });
    assert.ok(json(path)['auths']);
    assert.throws(() => statSync(join(fx.home, '.docker/config.json')));
  });
});

describe('removeCredential', () => {
  it('removes every host-level key of the registry and keeps the rest', async () => {
    const path = fx.write('home/.docker/config.json', {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('a:b') },
        'docker.io': { auth: b64('a:b') },
        'docker.io/myorg': { auth: b64('a:b') },
        'quay.io': { auth: b64('q:q') },
      },
      currentContext: 'x',
    });
    const r = await removeCredential('docker.io', { env: fx.env });
    assert.deepEqual(r.removedKeys.sort(), ['docker.io', 'https://index.docker.io/v1/']);
    assert.deepEqual(json(path), {
      auths: { 'docker.io/myorg': { auth: b64('a:b') }, 'quay.io': { auth: b64('q:q') } },
      currentContext: 'x',
    });
    assert.equal(mode(path), 0o600);
  });

  it('erases the helper copy too', async () => {
    fx.helper('teststore', helpers.store);
    fx.write('home/.docker/config.json', { credsStore: 'teststore' });
    await storeCredential('r.io', creds, { env: fx.env });
    const r = await removeCredential('r.io', { env: fx.env });
    assert.equal(r.helperErased, true);
    assert.deepEqual(r.removedKeys, ['r.io']);
    assert.deepEqual(json(fx.env['HELPER_STATE'] as string), {});
    assert.equal((await resolveCredential('r.io', { env: fx.env })).kind, 'anonymous');
  });

  it('reports nothing removed when not logged in', async () => {
    const r = await removeCredential('r.io', { env: fx.env });
    assert.deepEqual(r.removedKeys, []);
    assert.equal(r.helperErased, false);
  });
});
