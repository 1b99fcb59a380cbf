// Manifest media types, the Accept list, kind detection and structural checks.
// Schema 1 manifests are refused with a clear message (containerd 2 and genpolicy cannot use them either).
import { ContrastError } from '../internal/errors.js';
import type { Descriptor } from './types.js';

export const mediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** All four manifest/index types; OCI types are required or distribution answers 404 for OCI content. */
export const manifestAccept = [
  mediaTypes.ociIndex,
  mediaTypes.ociManifest,
  mediaTypes.dockerList,
  mediaTypes.dockerManifest,
  '*/*;q=0.1',
].join(', ');

/** Largest manifest we read (containerd enforces a similar cap). */
export const maxManifestBytes = 4 * 1024 * 1024;

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };

function stripParams(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (
    !o ||
    typeof o !== 'object' ||
    typeof o.digest !== 'string' ||
    typeof o.size !== 'number' ||
    !Number.isSafeInteger(o.size) ||
    o.size < 0
  ) {
    throw new Error(`${where} is not a valid descriptor (needs digest and size)`);
  }
  if (typeof o.mediaType !== 'string') throw new Error(`${where} has no mediaType`);
  return o as Descriptor;
}

/**
 * Parses manifest bytes. Kind comes from the body's `mediaType`, else the Content-Type, else the shape
 * (OCI makes `mediaType` optional; the lab's `test/app:v1` omits it).
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  what: string,
): ParsedManifest {
  const ct = stripParams(contentType);
  if (ct === mediaTypes.dockerSchema1 || ct === mediaTypes.dockerSchema1Signed) throw schema1(what);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ContrastError(`${what}: manifest is not valid JSON (Content-Type ${ct || 'none'})`, {
      code: 'MANIFEST_INVALID',
    });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ContrastError(`${what}: manifest is not a JSON object`, { code: 'MANIFEST_INVALID' });
  }
  const declared = typeof json['mediaType'] === 'string' ? json['mediaType'] : undefined;
  if (
    json['schemaVersion'] === 1 ||
    declared === mediaTypes.dockerSchema1 ||
    declared === mediaTypes.dockerSchema1Signed
  ) {
    throw schema1(what);
  }
  let mediaType = declared ?? (ct && ct !== 'application/json' && ct !== 'text/plain' ? ct : undefined);
  if (!mediaType) {
    if (Array.isArray(json['manifests'])) mediaType = mediaTypes.ociIndex;
    else if (json['config'] && Array.isArray(json['layers'])) mediaType = mediaTypes.ociManifest;
  }
  try {
    if (mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerList) {
      if (!Array.isArray(json['manifests'])) throw new Error('index has no `manifests` array');
      return {
        kind: 'index',
        mediaType,
        manifests: json['manifests'].map((d, i) => checkDescriptor(d, `manifests[${i}]`)),
      };
    }
    if (mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest) {
      if (!Array.isArray(json['layers'])) throw new Error('manifest has no `layers` array');
      return {
        kind: 'manifest',
        mediaType,
        config: checkDescriptor(json['config'], 'config'),
        layers: json['layers'].map((d, i) => checkDescriptor(d, `layers[${i}]`)),
      };
    }
  } catch (err) {
    throw new ContrastError(`${what}: invalid manifest: ${(err as Error).message}`, {
      code: 'MANIFEST_INVALID',
    });
  }
  throw new ContrastError(`${what}: unsupported manifest media type "${mediaType ?? ct ?? 'unknown'}"`, {
    code: 'MANIFEST_UNSUPPORTED',
    hint: 'only OCI image manifests/indexes and Docker v2 schema 2 manifests/lists are supported',
  });
}

function schema1(what: string): ContrastError {
  return new ContrastError(`${what}: Docker schema 1 manifests are not supported`, {
    code: 'MANIFEST_SCHEMA1',
    hint: 'rebuild or re-push the image with a current tool (docker buildx, podman, skopeo copy --format v2s2)',
  });
}

/** Layer media types that registries may not serve (`urls` point elsewhere). */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType.includes('.foreign.') || mediaType.includes('.nondistributable.');
}
