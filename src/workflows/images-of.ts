// The images of the confidential workloads in the user's YAML, for the commands that take `-f`
// (`contrast mirror`, `contrast registry check`).
import { ContrastError } from '../internal/errors.js';
import { findWorkloads, readKubeFiles, workloadImages } from '../kube/index.js';

/** Every image of the confidential workloads (runtimeClassName contrast-cc…) in YAML files/dirs, in order. */
export async function confidentialWorkloadImages(paths: readonly string[]): Promise<string[]> {
  const files = await readKubeFiles([...paths]);
  const out = new Set<string>();
  for (const w of findWorkloads(files)) for (const image of workloadImages(w)) out.add(image);
  if (out.size === 0) {
    throw new ContrastError(
      `no confidential workloads (runtimeClassName contrast-cc…) with images in ${paths.join(', ')}`,
      {
        code: 'NO_WORKLOADS',
      },
    );
  }
  return [...out];
}

/** The images named as arguments plus those of the workloads in `files`; an error when there are none. */
export async function imagesToProcess(
  images: readonly string[],
  files: readonly string[] = [],
): Promise<string[]> {
  const all = [...images, ...(files.length ? await confidentialWorkloadImages(files) : [])];
  if (all.length === 0)
    throw new ContrastError('no images given', {
      hint: 'name images as arguments or pass -f with Kubernetes YAML',
    });
  return all;
}
