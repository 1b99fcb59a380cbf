import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TarReader } from './tar.js';
import { entry, gnuLong, tar } from '../../test/fixtures/oci/tar.js';
import { UserFilesCollector, mergeUserFiles, resolveImageUser, type LayerUserFiles } from './users.js';

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nsvc:x:2000:2000::/:/bin/false\n';
const GROUP =
  'root:x:0:\nwheel:x:10:app,svc\napp:x:1001:\ndocker:x:999:app\nsame:x:1000:app\nsvc:x:2000:svc\n';

test('resolveImageUser: names, numbers, user:group, errors', () => {
  assert.deepEqual(resolveImageUser('app', PASSWD, GROUP), {
    user: { uid: 1000, gid: 1001, additionalGids: [10, 999, 1000], username: 'app' },
    warnings: [],
  });
  // the group named like the user is excluded (containerd#11937 workaround)
  assert.deepEqual(resolveImageUser('svc', PASSWD, GROUP).user.additionalGids, [10]);
  assert.deepEqual(resolveImageUser('1000', PASSWD, GROUP).user, {
    uid: 1000,
    gid: 1001,
    additionalGids: [10, 999, 1000],
    username: 'app',
  });
  assert.equal(resolveImageUser('app:wheel', PASSWD, GROUP).user.gid, 1001, 'the group part is ignored');
  assert.equal(resolveImageUser('2000:0', PASSWD, GROUP).user.uid, 2000);
  assert.deepEqual(resolveImageUser('4242', PASSWD, GROUP).user, {
    uid: 4242,
    gid: 0,
    additionalGids: [],
    username: '',
  });
  assert.deepEqual(resolveImageUser('', PASSWD, GROUP).user, {
    uid: 0,
    gid: 0,
    additionalGids: [],
    username: 'root',
  });
  const missing = resolveImageUser('nobody', PASSWD, GROUP);
  assert.equal(missing.user.uid, 0);
  assert.match(missing.warnings[0]!, /not found/);
  const colons = resolveImageUser('a:b:c', PASSWD, GROUP);
  assert.equal(colons.user.uid, 0);
  assert.match(colons.warnings[0]!, /more than one ':'/);
});

test('resolveImageUser: a malformed line rejects the whole file', () => {
  const bad = PASSWD + '# comment\n';
  const r = resolveImageUser('app', bad, GROUP);
  assert.equal(r.user.uid, 0);
  assert.ok(r.warnings.some((w) => /passwd ignored: line 4/.test(w)));
  const badNum = resolveImageUser('app', 'app:x:abc:1::/:/bin/sh\n', '');
  assert.equal(badNum.user.uid, 0);
  const badGroup = resolveImageUser('app', PASSWD, GROUP + '\n');
  assert.deepEqual(badGroup.user.additionalGids, []);
  assert.ok(badGroup.warnings.some((w) => /group ignored/.test(w)));
  assert.equal(resolveImageUser('1000', PASSWD, '').user.gid, 1001);
});

function collect(archive: Buffer): LayerUserFiles {
  const c = new UserFilesCollector();
  const r = new TarReader({ onEntry: (e) => c.onEntry(e), onData: (e, d) => c.onData(e, d) });
  r.write(archive);
  r.end();
  return c.result;
}

test('passwd/group across layers: whiteouts, opaque etc/, ./ names, later content replaces', () => {
  const base = collect(tar(entry({ name: 'etc/passwd' }, PASSWD), entry({ name: 'etc/group' }, GROUP)));
  const wh = collect(tar(entry({ name: 'etc/.wh.passwd' })));
  let m = mergeUserFiles([base, wh]);
  assert.equal(m.passwd, '');
  assert.equal(m.group, GROUP);
  assert.deepEqual(m.warnings, []);
  // whiteout then re-add in a later layer
  const readd = collect(tar(entry({ name: 'etc/passwd' }, 'x:x:1:1::/:/bin/sh\n')));
  assert.equal(mergeUserFiles([base, wh, readd]).passwd, 'x:x:1:1::/:/bin/sh\n');
  // empty content does not replace
  assert.equal(mergeUserFiles([base, collect(tar(entry({ name: 'etc/passwd' }, '')))]).passwd, PASSWD);
  // ./etc/passwd: we read it, genpolicy does not → warning
  const dotted = collect(tar(entry({ name: './etc/passwd' }, 'y:x:5:5::/:/bin/sh\n')));
  m = mergeUserFiles([base, dotted]);
  assert.equal(m.passwd, 'y:x:5:5::/:/bin/sh\n');
  assert.match(m.warnings[0]!, /genpolicy/);
  // opaque etc/ hides lower files; the same layer's files still count
  const opq = collect(tar(entry({ name: 'etc/.wh..wh..opq' }), entry({ name: 'etc/group' }, 'g:x:1:\n')));
  m = mergeUserFiles([base, opq]);
  assert.equal(m.passwd, '');
  assert.equal(m.group, 'g:x:1:\n');
  assert.equal(m.warnings.length, 1, 'genpolicy ignores the opaque marker for passwd');
  // a GNU long name spelling etc/passwd is the filesystem's view only
  const viaLong = collect(
    tar(gnuLong('L', 'etc/passwd'), entry({ name: 'other', magic: 'gnu' }, 'z:x:7:7::/:/bin/sh\n')),
  );
  assert.equal(mergeUserFiles([viaLong]).passwd, 'z:x:7:7::/:/bin/sh\n');
  // within a layer genpolicy applies entries in order: content then whiteout → empty
  const both = collect(tar(entry({ name: 'etc/passwd' }, PASSWD), entry({ name: 'etc/.wh.passwd' })));
  assert.equal(fold(both.genpolicy.passwd), '');
});

function fold(c: { reset: boolean; content?: string }): string {
  return c.content ?? '';
}
