import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestAccept, mediaTypes, parseManifest } from './manifest.js';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o));
const desc = { mediaType: 'x', digest: 'sha256:' + 'a'.repeat(64), size: 3 };

test('Accept lists both OCI and both Docker types', () => {
  for (const t of [
    mediaTypes.ociIndex,
    mediaTypes.ociManifest,
    mediaTypes.dockerList,
    mediaTypes.dockerManifest,
  ]) {
    assert.ok(manifestAccept.includes(t));
  }
});

test('kind from mediaType, else Content-Type, else shape', () => {
  const m = parseManifest(enc({ schemaVersion: 2, config: desc, layers: [desc] }), undefined, 'm');
  assert.equal(m.kind, 'manifest');
  assert.equal(m.mediaType, mediaTypes.ociManifest);
  const i = parseManifest(enc({ schemaVersion: 2, manifests: [desc] }), 'application/json', 'm');
  assert.equal(i.kind, 'index');
  const d = parseManifest(
    enc({ schemaVersion: 2, config: desc, layers: [] }),
    `${mediaTypes.dockerManifest}; charset=utf-8`,
    'm',
  );
  assert.equal(d.mediaType, mediaTypes.dockerManifest);
  const l = parseManifest(
    enc({ schemaVersion: 2, mediaType: mediaTypes.dockerList, manifests: [] }),
    undefined,
    'm',
  );
  assert.equal(l.kind, 'index');
});

test('schema 1, garbage and broken descriptors are clear errors', () => {
  assert.throws(
    () => parseManifest(enc({ schemaVersion: 1, fsLayers: [] }), undefined, 'manifest x'),
    /manifest x: Docker schema 1 manifests are not supported/,
  );
  assert.throws(() => parseManifest(enc({}), mediaTypes.dockerSchema1Signed, 'm'), /schema 1/);
  assert.throws(() => parseManifest(Buffer.from('<html>'), 'text/html', 'm'), /not valid JSON/);
  assert.throws(
    () => parseManifest(enc({ config: { digest: 'sha256:x' }, layers: [] }), mediaTypes.ociManifest, 'm'),
    /config is not a valid descriptor/,
  );
  assert.throws(
    () => parseManifest(enc({ mediaType: 'application/vnd.foo' }), undefined, 'm'),
    /unsupported manifest media type "application\/vnd.foo"/,
  );
});
