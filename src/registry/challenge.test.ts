import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, preferredChallenge } from './challenge.js';

test('parses a Docker Hub bearer challenge', () => {
  const [c] = parseChallenges(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
  );
  assert.deepEqual(c, {
    scheme: 'bearer',
    params: {
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:samalba/my-app:pull,push',
    },
  });
});

test('splits several challenges on one line and reads several lines', () => {
  const cs = parseChallenges([
    'Basic realm="x", Bearer realm="https://a/t", service=svc',
    'Newauth realm="n"',
  ]);
  assert.deepEqual(
    cs.map((c) => [c.scheme, c.params]),
    [
      ['basic', { realm: 'x' }],
      ['bearer', { realm: 'https://a/t', service: 'svc' }],
      ['newauth', { realm: 'n' }],
    ],
  );
});

test('quoted strings keep commas and unescape backslashes; names are case-insensitive', () => {
  const [c] = parseChallenges(
    'BEARER Realm="https://h/t?a=1,b=2", Error="insufficient_scope", error_description="say \\"hi\\", ok"',
  );
  assert.equal(c?.scheme, 'bearer');
  assert.equal(c?.params['realm'], 'https://h/t?a=1,b=2');
  assert.equal(c?.params['error'], 'insufficient_scope');
  assert.equal(c?.params['error_description'], 'say "hi", ok');
});

test('token68 and bare schemes', () => {
  const cs = parseChallenges('Negotiate abc==, Basic realm=simple');
  assert.equal(cs[0]?.scheme, 'negotiate');
  assert.equal(cs[0]?.token68, 'abc==');
  assert.deepEqual(cs[1], { scheme: 'basic', params: { realm: 'simple' } });
  assert.deepEqual(parseChallenges('Basic'), [{ scheme: 'basic', params: {} }]);
});

test('malformed input keeps what was parsed and never throws', () => {
  const cs = parseChallenges('Bearer realm="https://ok/t", service="unterminated');
  assert.equal(cs[0]?.params['realm'], 'https://ok/t');
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges(['', '   ,  ']), []);
});

test('prefers Bearer over Basic and ignores unknown schemes', () => {
  assert.equal(preferredChallenge(parseChallenges('Basic realm=a, Bearer realm=b'))?.scheme, 'bearer');
  assert.equal(preferredChallenge(parseChallenges('Digest realm=a, Basic realm=b'))?.scheme, 'basic');
  assert.equal(preferredChallenge(parseChallenges('Digest realm=a')), undefined);
});
