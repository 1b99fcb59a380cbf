import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { redact, setLogLevel, setLogSink, type LogSink } from '../internal/log.js';
import { decodeBase64, decodeEntry } from './entry.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
let logged: string[] = [];
let previous: LogSink;
beforeEach(() => {
  logged = [];
  previous = setLogSink({ write: (line) => logged.push(line) });
  setLogLevel('debug');
});
afterEach(() => {
  setLogSink(previous);
});

describe('decodeEntry', () => {
  it('decodes auth as user:password, split at the first colon', () => {
    assert.deepEqual(decodeEntry({ auth: b64('alice:pa:ss:word') }, 'f'), {
      ok: true,
      value: { kind: 'basic', username: 'alice', password: 'pa:ss:word' },
    });
  });

  it('accepts base64 with and without padding', () => {
    const padded = b64('bob:pw1'); // "Ym9iOnB3MQ=="
    assert.ok(padded.endsWith('='));
    const unpadded = padded.replace(/=+$/, '');
    for (const auth of [padded, unpadded]) {
      const r = decodeEntry({ auth }, 'f');
      assert.ok(r.ok);
      assert.equal(r.value.password, 'pw1');
    }
    assert.equal(decodeBase64('Zm9v!'), undefined);
    assert.equal(decodeBase64('Zm9vY'), undefined);
  });

  it('trims NUL bytes around the password', () => {
    const r = decodeEntry({ auth: b64('carol:secret\0\0') }, 'f');
    assert.ok(r.ok);
    assert.equal(r.value.password, 'secret');
  });

  it('uses username/password fields', () => {
    assert.deepEqual(decodeEntry({ username: 'dave', password: 'pw-dave' }, 'f'), {
      ok: true,
      value: { kind: 'basic', username: 'dave', password: 'pw-dave' },
    });
  });

  it('prefers auth when it disagrees with username/password, and warns', () => {
    const r = decodeEntry(
      { auth: b64('erin:from-auth'), username: 'erin', password: 'from-fields' },
      'FILE, key "k"',
    );
    assert.ok(r.ok);
    assert.equal(r.value.password, 'from-auth');
    assert.ok(
      logged.some((l) => l.startsWith('warn: FILE, key "k": "auth" and "username"/"password" disagree')),
    );
    logged = [];
    decodeEntry({ auth: b64('erin:same'), username: 'erin', password: 'same' }, 'f');
    assert.deepEqual(logged, []);
  });

  it('reads ACR identity tokens: 00000000-… user plus identitytoken', () => {
    const user = '00000000-0000-0000-0000-000000000000';
    assert.deepEqual(decodeEntry({ auth: b64(`${user}:`), identitytoken: 'eyJ-refresh-token' }, 'f'), {
      ok: true,
      value: { kind: 'identity-token', username: user, identityToken: 'eyJ-refresh-token' },
    });
    const alice = decodeEntry({ auth: b64('alice:'), identitytoken: 'refresh-xyz' }, 'f');
    assert.ok(alice.ok);
    assert.equal(alice.value.kind, 'identity-token');
    assert.equal(alice.value.username, 'alice');
  });

  it('reads registrytoken as a ready bearer token', () => {
    assert.deepEqual(decodeEntry({ registrytoken: 'bearer-abc' }, 'f'), {
      ok: true,
      value: { kind: 'registry-token', username: null, registryToken: 'bearer-abc' },
    });
  });

  it('treats {} markers and unusable entries as no credential, with a reason', () => {
    const marker = decodeEntry({}, 'f');
    assert.ok(!marker.ok);
    assert.match(marker.reason, /marker/);
    const noColon = decodeEntry({ auth: b64('justatoken') }, 'FILE');
    assert.ok(!noColon.ok);
    assert.match(noColon.reason, /no ":"/);
    assert.ok(logged.some((l) => l.startsWith('warn: FILE: "auth" does not decode')));
    const notB64 = decodeEntry({ auth: 'not base64!' }, 'f');
    assert.ok(!notB64.ok);
    assert.match(notB64.reason, /base64/);
    const emailOnly = decodeEntry({ email: 'a@b.c' }, 'f');
    assert.ok(!emailOnly.ok);
    const empty = decodeEntry({ auth: b64(':') }, 'f');
    assert.ok(!empty.ok);
    assert.ok(!decodeEntry('string', 'f').ok);
  });

  it('registers every secret it reads, so logs mask them', () => {
    decodeEntry({ auth: b64('frank:hunter2-pass'), identitytoken: 'idtoken-frank' }, 'f');
    assert.equal(redact('x hunter2-pass y'), 'x *** y');
    assert.equal(redact(b64('frank:hunter2-pass')), '***');
    assert.equal(redact('idtoken-frank'), '***');
  });
});
