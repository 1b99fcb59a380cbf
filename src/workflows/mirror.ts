// `contrast mirror` as a workflow: the images (arguments and the workloads of -f YAML) are copied by
// the registry side (src/registry/mirror.ts), and the image-replacements file is written atomically.
// The CLI keeps the flags, the progress display and Ctrl-C.
import { writeFileAtomic } from '../internal/atomic.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/index.js';
import { formatReplacements, Mirror, type MirrorOptions, type MirrorResult } from '../registry/mirror.js';
import { imagesToProcess } from './images-of.js';

export interface MirrorWorkflowOptions extends MirrorOptions {
  images: readonly string[];
  /** YAML files/directories whose confidential workloads' images are mirrored too. */
  files?: readonly string[];
  client: RegistryClientOptions;
  /** Where to write the `original=mirror@sha256:…` lines (for --image-replacements). */
  replacementsOut?: string;
  /** Called once the copy starts, with the mirror (its `stats` tell how far a failed run got). */
  started?: (mirror: Mirror) => void;
}

export interface MirrorWorkflowResult extends MirrorResult {
  /** The image-replacements lines. */
  replacements: string;
}

export async function runMirror(opts: MirrorWorkflowOptions): Promise<MirrorWorkflowResult> {
  const { images, files, client: clientOptions, replacementsOut, started, ...mirrorOptions } = opts;
  const all = await imagesToProcess(images, files);
  const client = new RegistryClient(clientOptions);
  try {
    const mirror = new Mirror(client, mirrorOptions);
    started?.(mirror);
    const result = await mirror.run(all);
    const replacements = formatReplacements(result.images);
    if (replacementsOut) await writeFileAtomic(replacementsOut, replacements);
    return { ...result, replacements };
  } finally {
    await client.close();
  }
}
