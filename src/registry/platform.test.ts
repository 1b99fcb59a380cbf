import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from './platform.js';
import type { Descriptor } from './types.js';

test('parse and format round-trip; bad input is a clear error', () => {
  assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.equal(formatPlatform(parsePlatform('linux/arm/v7')), 'linux/arm/v7');
  assert.throws(() => parsePlatform('linux'), /expected os\/architecture/);
  assert.throws(() => parsePlatform('linux/amd64/v2/x'), /invalid platform/);
});

test('containerd-style normalization', () => {
  const n = (s: string) => formatPlatform(normalizePlatform(parsePlatform(s)));
  assert.equal(n('Linux/x86_64'), 'linux/amd64');
  assert.equal(n('linux/x86-64/v1'), 'linux/amd64');
  assert.equal(n('linux/aarch64'), 'linux/arm64');
  assert.equal(n('linux/arm64/v8'), 'linux/arm64');
  assert.equal(n('linux/armhf'), 'linux/arm/v7');
  assert.equal(n('linux/armel'), 'linux/arm/v6');
  assert.equal(n('linux/arm'), 'linux/arm/v7');
  assert.equal(n('linux/arm/6'), 'linux/arm/v6');
  assert.equal(n('linux/i386'), 'linux/386');
  assert.equal(n('macos/arm64'), 'darwin/arm64');
});

test('matching: arm64/v8 ≡ arm64, empty wanted variant matches any', () => {
  assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }));
  assert.ok(
    platformMatches(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }),
  );
  assert.ok(
    platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64', variant: 'v3' }),
  );
  assert.ok(
    !platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }),
  );
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }));
});

const d = (
  digest: string,
  platform?: Descriptor['platform'],
  annotations?: Record<string, string>,
): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  size: 1,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

test('selection skips attestations, takes the first match, lists what exists otherwise', () => {
  const index = [
    d(
      'sha256:att',
      { os: 'unknown', architecture: 'unknown' },
      { 'vnd.docker.reference.type': 'attestation-manifest' },
    ),
    d('sha256:amd', { os: 'linux', architecture: 'amd64' }),
    d('sha256:arm', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    d('sha256:arm2', { os: 'linux', architecture: 'arm64' }),
  ];
  assert.equal(selectPlatform(index, parsePlatform('linux/arm64'), 'x').digest, 'sha256:arm');
  assert.equal(selectPlatform(index, parsePlatform('linux/amd64'), 'x').digest, 'sha256:amd');
  assert.throws(
    () => selectPlatform(index, parsePlatform('linux/s390x'), 'image index foo'),
    /image index foo has no image for platform linux\/s390x \(available: linux\/amd64, linux\/arm64\/v8, linux\/arm64\)/,
  );
});
