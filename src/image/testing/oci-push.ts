// Builds a small OCI image layout on disk from in-memory layers and pushes it to a registry with
// skopeo (tests only). Layers and configs are exactly what the test asks for — including configs
// whose diff_ids lie.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TestLayer {
  tar: Buffer;
  compression: 'gzip' | 'zstd' | 'none';
  /** Override the diff_id written into the config. */
  diffId?: string;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export function compress(tar: Buffer, compression: TestLayer['compression']): Buffer {
  if (compression === 'gzip') return gzipSync(tar);
  if (compression === 'zstd')
    return execFileSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 });
  return tar;
}

const mediaTypes = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/** Pushes the image to `docker://<target>` (e.g. 127.0.0.1:5000/x/y:tag) over plain HTTP. */
export function pushTestImage(
  target: string,
  layers: TestLayer[],
  user: string | Record<string, unknown> = '',
): { manifestDigest: string; blobs: string[] } {
  // A string is the image USER (Cmd /bin/true); an object is the whole config.config.
  const imageConfig = typeof user === 'string' ? { User: user, Cmd: ['/bin/true'] } : user;
  const dir = mkdtempSync(join(tmpdir(), 'oci-test-'));
  try {
    const blobs = join(dir, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const put = (b: Buffer): string => {
      const h = sha(b);
      writeFileSync(join(blobs, h), b);
      return `sha256:${h}`;
    };
    const descs = layers.map((l) => {
      const blob = compress(l.tar, l.compression);
      return { mediaType: mediaTypes[l.compression], digest: put(blob), size: blob.length };
    });
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: imageConfig,
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? `sha256:${sha(l.tar)}`) },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: put(config),
          size: config.length,
        },
        layers: descs,
      }),
    );
    const manifestDigest = put(manifest);
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifestDigest,
            size: manifest.length,
            annotations: { 'org.opencontainers.image.ref.name': 'test' },
          },
        ],
      }),
    );
    execFileSync(
      'skopeo',
      [
        'copy',
        '-q',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${dir}:test`,
        `docker://${target}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    return { manifestDigest, blobs: descs.map((d) => d.digest) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
