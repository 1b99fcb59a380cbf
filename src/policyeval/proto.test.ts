// agentInput gives a partial request the shape the agent's rules see: protobuf defaults for every
// field (kata-containers src/libs/protocols build.rs: serde(default); serde_config.rs: an absent
// message is null), unknown fields dropped; CopyFile as the agent's PolicyCopyFileRequest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentInput } from './index.js';

test('a partial CreateContainerRequest gets every field with its protobuf default', () => {
  const r = agentInput('CreateContainerRequest', {
    OCI: { Root: { Path: '/x' }, Mounts: [{ destination: '/d' }] },
    extra: 1,
  }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(r['container_id'], '');
  assert.equal(r['string_user'], null);
  assert.deepEqual(r['storages'], []);
  assert.equal(r['sandbox_pidns'], false);
  assert.equal('extra' in r, false);
  assert.deepEqual(r['OCI']['Root'], { Path: '/x', Readonly: false });
  assert.deepEqual(r['OCI']['Mounts'], [{ destination: '/d', source: '', type_: '', options: [] }]);
  assert.equal(r['OCI']['Hooks'], null);
  assert.equal(r['OCI']['Linux'], null);
  assert.deepEqual(r['OCI']['Annotations'], {});
});

test('CopyFile is read as the pre-processed request: file_type defaults to Unknown, no data', () => {
  assert.deepEqual(agentInput('CopyFileRequest', { path: '/p', data: 'aGk=' }), {
    path: '/p',
    file_type: 'Unknown',
    symlink_target: null,
    file_size: 0,
    file_mode: 0,
    dir_mode: 0,
    uid: 0,
    gid: 0,
    offset: 0,
  });
  assert.deepEqual(agentInput('WaitProcessRequest', { a: 1 }), { a: 1 }, 'no schema: unchanged');
});
