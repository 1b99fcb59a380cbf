// Hand-built AnalyzedImage fixtures: what the layer engine would report for the images our test pods
// use, so policy tests are deterministic and need no registry.
import { createHash } from 'node:crypto';
import type { AnalyzedImage } from '../../../src/image/types.js';
import { parseReference } from '../../../src/reference/index.js';
import type { ContainerConfig } from '../../../src/registry/types.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

export interface FixtureOptions {
  ref: string;
  /** Bottom layer first; verity roots are hex. */
  layers: Array<{ verityRoot: string }>;
  config?: ContainerConfig;
  user?: { uid: number; gid: number; additionalGids: number[]; username: string };
  passwd?: string;
  group?: string;
}

export function fixtureImage(o: FixtureOptions): AnalyzedImage {
  const layers = o.layers.map((l, i) => ({
    digest: sha(`${o.ref} compressed ${i}`),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size: 1000 + i,
    diffId: sha(`${o.ref} layer ${i}`),
    uncompressedSize: 4000 + i,
    verityRoot: l.verityRoot,
  }));
  return {
    reference: parseReference(o.ref),
    digest: sha(`${o.ref} manifest`),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    manifestBytes: new Uint8Array(),
    platform: { os: 'linux', architecture: 'amd64' },
    configDigest: sha(`${o.ref} config`),
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: o.config ?? {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    credential: { kind: 'anonymous', username: null, source: { type: 'none', description: 'test fixture' } },
    layerAnalysis: layers,
    user: o.user ?? { uid: 0, gid: 0, additionalGids: [], username: '' },
    passwd: o.passwd ?? '',
    group: o.group ?? '',
  };
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The images of the recorded AKS pods (verity roots as they appear in the recorded requests). */
export const RECORDED_PAUSE = fixtureImage({
  ref: 'mcr.microsoft.com/oss/kubernetes/pause:3.6',
  layers: [{ verityRoot: '817250f1a3e336da76f5bd3fa784e1b26d959b9c131876815ba2604048b70c18' }],
  config: { Entrypoint: ['/pause'], Env: [PATH] },
  user: { uid: 65535, gid: 65535, additionalGids: [], username: '' },
});

export const RECORDED_BUSYBOX = fixtureImage({
  ref: 'mcr.microsoft.com/aks/e2e/library-busybox:master.220314.1-linux-amd64',
  layers: [
    { verityRoot: 'b643b6217748983830b26ac14a35a3322dd528c00963eaadd91ef55f513dc73f' },
    { verityRoot: '8568c70c0ccfe0051092e818da769111a59882cd19dd799d3bca5ffa82791080' },
  ],
  config: { Cmd: ['sh'], Env: [PATH] },
  user: { uid: 0, gid: 0, additionalGids: [10], username: 'root' },
  passwd: 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n',
  group: 'root:x:0:\nwheel:x:10:root\n',
});

/** Mirrors the lab's test/app:v1 (user app 1000:1000, Entrypoint /app/hello.sh, Cmd --from lab, WorkingDir /app). */
export const LAB_APP = fixtureImage({
  ref: 'localhost:5000/test/app:v1',
  layers: [
    { verityRoot: '1111111111111111111111111111111111111111111111111111111111111111' },
    { verityRoot: '2222222222222222222222222222222222222222222222222222222222222222' },
  ],
  config: {
    Entrypoint: ['/app/hello.sh'],
    Cmd: ['--from', 'lab'],
    WorkingDir: '/app',
    User: 'app',
    Env: [PATH, 'GREETING=hello'],
    Volumes: { '/data': {} },
  },
  user: { uid: 1000, gid: 1000, additionalGids: [29], username: 'app' },
  passwd:
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nweb:x:1001:1001::/:/bin/sh\n',
  group: 'root:x:0:\napp:x:1000:\nweb:x:1001:\naudio:x:29:app,web\n',
});

export const GUEST_PAUSE = fixtureImage({
  ref: 'ghcr.io/edgelesssys/kubernetes/pause:3.6',
  layers: [{ verityRoot: '3333333333333333333333333333333333333333333333333333333333333333' }],
  config: { Entrypoint: ['/pause'], Env: [PATH] },
});

export function imageMap(...images: Array<[string, AnalyzedImage]>): Map<string, AnalyzedImage> {
  return new Map(images);
}
