// Image replacements (contrast-generate.md §6): `image=replacement` lines that swap the images
// Contrast injects (`…:latest`) for the release's pinned ones, or point any image at a mirror. Exact
// string match on `.image` of every container and init container.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { containers } from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';
import { readTextInput } from '../internal/files.js';

const LINE = /^(?<image>[^\s=]+)\s*=\s*(?<replacement>\S+)$/;

export type ImageReplacements = Map<string, string>;

export function parseImageReplacements(text: string, source = 'image replacements'): ImageReplacements {
  const out: ImageReplacements = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m?.groups) {
      throw new ContrastError(`${source}:${i + 1}: "${line}" is not an image=replacement line`, {
        code: 'BAD_REPLACEMENTS',
      });
    }
    out.set(m.groups['image']!, m.groups['replacement']!);
  });
  return out;
}

export async function readImageReplacements(path: string): Promise<ImageReplacements> {
  let text: string;
  try {
    text = await readTextInput(path, 'image replacements file');
  } catch (err) {
    if (err instanceof ContrastError) throw err;
    throw new ContrastError(`--image-replacements ${path}: ${errorMessage(err)}`, {
      code: 'BAD_REPLACEMENTS',
    });
  }
  return parseImageReplacements(text, path);
}

/** Applies the replacements in place; returns how many images changed. */
export function applyImageReplacements(w: Workload, replacements: ImageReplacements): number {
  let n = 0;
  for (const c of containers(w)) {
    const image = c.node.get('image');
    if (typeof image !== 'string') continue;
    const r = replacements.get(image);
    if (r !== undefined && r !== image) {
      c.node.set('image', r);
      n++;
    }
  }
  return n;
}
