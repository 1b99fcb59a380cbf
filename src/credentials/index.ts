// Public surface of the credential resolver. See README.md for the lookup order.
export type {
  AuthEntry,
  Credential,
  CredentialKind,
  CredentialOptions,
  CredentialSource,
  ExtraAuthEntries,
} from './types.js';
export {
  credentialTarget,
  dockerConfigKey,
  registryId,
  normalizeRegistryHost,
  DOCKER_HUB,
  type CredentialTarget,
} from './host.js';
export { describeAttempts, describeCredential, forgetCredential, resolveCredential } from './resolve.js';
export { dockerConfigLocation, podmanAuthFiles } from './config.js';
export { HelperMissingError, DEFAULT_HELPER_TIMEOUT_MS } from './helper.js';
export {
  loginRegistry,
  removeCredential,
  storeCredential,
  type RemoveResult,
  type StoreOptions,
  type StoreResult,
} from './store.js';
