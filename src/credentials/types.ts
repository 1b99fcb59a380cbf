// Shapes of the credential resolver's inputs and answers. The registry client and the CLI read
// these; nothing here carries behaviour.

export type CredentialKind = 'basic' | 'identity-token' | 'registry-token' | 'anonymous';

/** Where a credential came from. `description` is for people and never contains a secret. */
export interface CredentialSource {
  type: 'file' | 'helper' | 'env' | 'none' | 'pull-secret';
  /** Config file that held the entry (or that configured the helper). */
  path?: string;
  /** The `auths` / `credHelpers` key that matched, exactly as written in the file. */
  key?: string;
  /** Helper name: `desktop` for `docker-credential-desktop`. */
  helper?: string;
  description: string;
}

export interface Credential {
  /** Registry id: lowercase `host[:port]`, `docker.io` for Docker Hub. */
  registry: string;
  kind: CredentialKind;
  username: string | null;
  password?: string;
  /** OAuth2 refresh token (`identitytoken`, or a helper's `<token>` answer). */
  identityToken?: string;
  /** Ready bearer token (`registrytoken`), sent without exchange. */
  registryToken?: string;
  source: CredentialSource;
  /** Every place that was looked at before the answer and what was found there (no secrets). */
  attempts?: string[];
}

/** One entry of a config file's `auths` map. Unknown fields are kept when we rewrite a file. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
  serveraddress?: string;
  [field: string]: unknown;
}

/**
 * Credentials from somewhere other than the config files (Kubernetes imagePullSecrets), in the
 * docker config.json `auths` shape. Consulted before any file.
 */
export interface ExtraAuthEntries {
  auths: Record<string, AuthEntry>;
  source: CredentialSource;
}

export interface CredentialOptions {
  /** An explicit auth file (`--authfile`): when given, the only file consulted. */
  authFile?: string;
  /** Environment to read (`DOCKER_CONFIG`, `HOME`, `PATH`, …); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Kill a credential helper after this long; default 30 s. */
  helperTimeoutMs?: number;
  extraEntries?: ExtraAuthEntries[];
}
