// Chain IDs and tarfs-era layer names (docs/policy-generation.md §4): chain[0] = diff_id[0],
// chain[i] = "sha256:" + hex(sha256(chain[i-1] + " " + diff_id[i])); layer name = hex(sha256(chain id)).
// The exact hashed strings are still to be verified against the pinned genpolicy fork.
import { createHash } from 'node:crypto';

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const [i, d] of diffIds.entries()) out.push(i === 0 ? d : `sha256:${hex(`${out[i - 1]!} ${d}`)}`);
  return out;
}

export function tarfsLayerNames(diffIds: readonly string[]): string[] {
  return chainIds(diffIds).map(hex);
}
