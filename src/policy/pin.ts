// Guest pull: the agent pulls whatever reference the runtime names, and containerd names the image
// as the YAML says (repo:tag, or repo@sha256:D when the YAML has a digest). A policy can only pin an
// image by digest, so a YAML image without one would give a policy no request satisfies. Such an
// image is written back pinned (`name:tag@sha256:…`, the digest the policy holds), with a message.
import { isMap, isSeq } from 'yaml';
import { log } from '../internal/log.js';
import type { AnalyzedImage } from '../image/types.js';
import { podTemplateNode, type Workload } from '../kube/index.js';
import { pinnedReference } from './data.js';

export interface ImagePinChange {
  workload: Workload;
  container: string;
  from: string;
  to: string;
}

/** The changes pinning would make (nothing is edited). */
export function plannedPins(
  workloads: readonly Workload[],
  images: ReadonlyMap<string, AnalyzedImage>,
): ImagePinChange[] {
  const out: ImagePinChange[] = [];
  for (const w of workloads) {
    const spec = podTemplateNode(w).get('spec', true);
    if (!isMap(spec)) continue;
    for (const list of ['initContainers', 'containers']) {
      const seq = spec.get(list, true);
      if (!isSeq(seq)) continue;
      for (const item of seq.items) {
        if (!isMap(item)) continue;
        const image = item.get('image');
        const analyzed = typeof image === 'string' ? images.get(image) : undefined;
        if (typeof image !== 'string' || image.includes('@') || !analyzed) continue;
        out.push({
          workload: w,
          container: String(item.get('name') ?? ''),
          from: image,
          to: pinnedReference(image, analyzed),
        });
      }
    }
  }
  return out;
}

/** Writes the pinned references into the YAML documents (in memory) and says so. */
export function applyPins(changes: readonly ImagePinChange[]): void {
  for (const c of changes) {
    const spec = podTemplateNode(c.workload).get('spec', true);
    if (!isMap(spec)) continue;
    for (const list of ['initContainers', 'containers']) {
      const seq = spec.get(list, true);
      if (!isSeq(seq)) continue;
      for (const item of seq.items) {
        if (isMap(item) && String(item.get('name') ?? '') === c.container && item.get('image') === c.from)
          item.set('image', c.to);
      }
    }
    const w = c.workload;
    log.info(
      `${w.file.path}: ${w.kind} ${w.namespace}/${w.name}: container "${c.container}": image ${c.from} pinned to ${c.to} (the guest pulls by digest; the policy admits only this image)`,
    );
  }
}
