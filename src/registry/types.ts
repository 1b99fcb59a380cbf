// Shapes shared by the registry client and everything downstream (image engine, policy, generate).
// The registry helper owns this file; changes must stay backward compatible for the other folders.
import type { Reference } from '../reference/index.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** OCI content descriptor (also used for Docker v2 manifests). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[]; features?: string[] };
}

/** The `config` object of an image config blob (OCI image-spec / Docker). */
export interface ContainerConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Volumes?: Record<string, object> | null;
  Tty?: boolean;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** The image config blob. */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: string; diff_ids: string[] };
  created?: string;
  history?: unknown[];
}

/** How the registry was reached: which credential, from where (never the secret itself). */
export interface CredentialUse {
  kind: 'basic' | 'identity-token' | 'registry-token' | 'anonymous';
  username: string | null;
  source: { type: string; path?: string; key?: string; helper?: string; description: string };
}

/** One platform image, resolved: manifest and config fetched and digest-verified. */
export interface ResolvedImage {
  /** The reference as the user wrote it, normalized (the name policies use, even when fetched via a mirror). */
  reference: Reference;
  /** Digest of the platform image manifest. */
  digest: string;
  /** Digest of the index/list the platform manifest was selected from, when there was one. */
  indexDigest?: string;
  mediaType: string;
  /** Manifest bytes exactly as served. */
  manifestBytes: Uint8Array;
  platform: Platform;
  configDigest: string;
  config: ImageConfigFile;
  layers: Descriptor[];
  credential: CredentialUse;
}

/**
 * The credential fields the registry client needs; structurally a subset of
 * `Credential` from src/credentials (so either can be passed).
 */
export interface RegistryCredential extends CredentialUse {
  password?: string;
  identityToken?: string;
  registryToken?: string;
}
