// What the layer engine produces for the policy generator. The image helper owns this file; the
// policy generator only reads these shapes.
import type { ResolvedImage } from '../registry/types.js';

export interface ImageUser {
  uid: number;
  gid: number;
  /** Sorted, unique. */
  additionalGids: number[];
  /** Name from /etc/passwd, or '' when unknown. */
  username: string;
}

export interface LayerAnalysis {
  /** Compressed blob digest (the manifest descriptor's). */
  digest: string;
  mediaType: string;
  /** Compressed size in bytes. */
  size: number;
  /** sha256 of the uncompressed tar; verified against the config's rootfs.diff_ids. */
  diffId: string;
  uncompressedSize: number;
  /** dm-verity root hash (hex, no prefix) over tar + tarfs index; only when verity was asked for. */
  verityRoot?: string;
}

export interface AnalyzedImage extends ResolvedImage {
  layerAnalysis: LayerAnalysis[];
  /** The image's USER resolved against the effective /etc/passwd and /etc/group. */
  user: ImageUser;
  /** Effective /etc/passwd and /etc/group after all layers ('' when absent), for securityContext lookups. */
  passwd: string;
  group: string;
  /** Problems met while resolving the user (also logged), e.g. USER not in /etc/passwd. */
  warnings?: string[];
}
