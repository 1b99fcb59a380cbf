// Pins Contrast's own images (the injected Initializer / service mesh / debug shell / PVC holder and
// a Coordinator written as `ghcr.io/edgelesssys/contrast/…:tag`) that no replacement pinned: they are
// resolved through the same registry client as user images (registries.conf mirrors, credentials,
// CA, insecure registries), so an air-gapped mirror works, and written back as `ref@sha256:…`.
import { ContrastError, errorMessage } from '../internal/errors.js';
import type { Platform } from '../registry/types.js';
import { containers, describe } from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';
import {
  CONTRAST_IMAGE_PREFIX,
  DEBUG_SHELL_NAME,
  INITIALIZER_NAME,
  PVC_HOLDER_NAME,
  SERVICE_MESH_NAME,
} from './injections.js';
import { isDigestReference } from './verify.js';

const INJECTED_NAMES = [INITIALIZER_NAME, SERVICE_MESH_NAME, DEBUG_SHELL_NAME, PVC_HOLDER_NAME];

/** What pinning needs of the registry client. */
export interface ImageResolver {
  resolveImage(
    ref: string,
    options: { platform?: Platform },
  ): Promise<{ digest: string; indexDigest?: string }>;
}

export interface Pin {
  from: string;
  to: string;
}

export function needsPin(containerName: string, image: string): boolean {
  if (isDigestReference(image)) return false;
  return image.startsWith(CONTRAST_IMAGE_PREFIX) || INJECTED_NAMES.includes(containerName);
}

export async function pinContrastImages(
  workloads: readonly Workload[],
  resolver: ImageResolver,
  platform?: Platform,
): Promise<Pin[]> {
  const wanted = new Map<string, string[]>();
  for (const w of workloads) {
    for (const c of containers(w)) {
      const image = c.node.get('image');
      if (typeof image === 'string' && needsPin(c.name, image)) {
        wanted.set(image, [...(wanted.get(image) ?? []), `${describe(w)} container "${c.name}"`]);
      }
    }
  }
  const pins = new Map<string, string>();
  await Promise.all(
    [...wanted.keys()].map(async (image) => {
      try {
        const r = await resolver.resolveImage(image, platform ? { platform } : {});
        // The index digest keeps the pin valid for every architecture of a multi-arch image.
        pins.set(image, `${image}@${r.indexDigest ?? r.digest}`);
      } catch (err) {
        throw new ContrastError(
          `cannot pin Contrast image ${image} (used by ${wanted.get(image)!.join(', ')}): ${errorMessage(err)}`,
          {
            code: 'PIN_IMAGE',
            hint:
              `mirror it (skopeo copy --all docker://${image} docker://<your-registry>/…) and either map it in ` +
              `--image-replacements ("${image}=<your-registry>/…@sha256:…") or add a [[registry]] mirror for ` +
              `${image.split('/')[0]} to registries.conf (--registries-conf)`,
            cause: err,
          },
        );
      }
    }),
  );
  for (const w of workloads) {
    for (const c of containers(w)) {
      const image = c.node.get('image');
      const to = typeof image === 'string' ? pins.get(image) : undefined;
      if (to) c.node.set('image', to);
    }
  }
  return [...pins].map(([from, to]) => ({ from, to }));
}
