// `contrast registry check` as a workflow: the images named and those of the confidential workloads
// in -f YAML, each checked once for what a guest pull needs (src/registry/check.ts).
import { checkImages, type CheckOptions, type ImageCheck } from '../registry/check.js';
import { imagesToProcess } from './images-of.js';

export async function runRegistryCheck(
  images: readonly string[],
  files: readonly string[],
  options: CheckOptions,
): Promise<ImageCheck[]> {
  return checkImages(await imagesToProcess(images, files), options);
}
