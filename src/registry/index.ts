// Public surface of the registry client. See README.md.
export { RegistryClient, type RegistryClientOptions, type FetchedManifest } from './client.js';
export {
  RegistryTransport,
  apiHost,
  credentialUse,
  type RegistryRequest,
  type RegistryResponse,
  type TransportOptions,
  type CredentialResolver,
} from './transport.js';
export {
  parsePlatform,
  formatPlatform,
  normalizePlatform,
  platformMatches,
  selectPlatform,
  defaultPlatform,
} from './platform.js';
export { parseChallenges, preferredChallenge, type Challenge } from './challenge.js';
export { repositoryScope, parseScope, mergeScopes, splitScopes } from './scope.js';
export { DigestVerifier, digestOf, parseDigest, verifyBytes } from './digest.js';
export { mediaTypes, manifestAccept, parseManifest, type ParsedManifest } from './manifest.js';
export {
  loadRegistriesConf,
  parseRegistriesConf,
  pullSources,
  type RegistriesConf,
  type PullSource,
} from './registries-conf.js';
export { RegistryError } from './registry-error.js';
export { defaultRetryPolicy, type RetryPolicy } from './retry.js';
export type {
  Platform,
  Descriptor,
  ImageConfigFile,
  ResolvedImage,
  CredentialUse,
  ContainerConfig,
  RegistryCredential,
} from './types.js';
