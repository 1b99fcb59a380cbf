/**
 * Container image references, parsed and normalized the way Docker does it
 * (distribution/reference `ParseNormalizedNamed` + `TagNameOnly`), so that the name we put into a
 * policy is the name the container runtime will see.
 *
 * The parser works component by component instead of through one large regular expression: the
 * accepted language is the same, but each rejection can say which part was wrong.
 */
import { ContrastError } from '../internal/errors.js';

export interface Reference {
  /** Registry domain, `host[:port]` as written (`docker.io` for Docker Hub, never `index.docker.io`). */
  domain: string;
  /** Repository path inside the registry (`library/nginx` for official Docker Hub images). */
  path: string;
  /** Tag; `latest` when the input had neither tag nor digest. Informational when a digest is present. */
  tag?: string;
  /** `algorithm:hex`; when present, this is what gets fetched. */
  digest?: string;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
const LEGACY_DOCKER_HUB_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** distribution/reference `NameTotalLengthMax`: applies to `domain/path` after normalization. */
export const NAME_TOTAL_LENGTH_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_NAME_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
// distribution accepts this digest shape, then go-digest rejects unknown algorithms / bad encodings.
const DIGEST_SHAPE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const IDENTIFIER = /^[a-f0-9]{64}$/;

export class InvalidReferenceError extends ContrastError {
  readonly input: string;
  readonly problem: string;

  constructor(input: string, problem: string, hint?: string) {
    super(`invalid image reference ${JSON.stringify(input)}: ${problem}`, {
      code: 'INVALID_REFERENCE',
      ...(hint === undefined ? {} : { hint }),
    });
    this.name = 'InvalidReferenceError';
    this.input = input;
    this.problem = problem;
  }
}

/**
 * Parses a reference such as `nginx`, `ghcr.io/org/app:1.2@sha256:…` or `[::1]:5000/repo` and
 * normalizes it: Docker Hub domain `docker.io`, `library/` for single-component Hub names, tag
 * `latest` only when neither tag nor digest was given. Throws InvalidReferenceError.
 */
export function parseReference(input: string): Reference {
  const fail = (problem: string, hint?: string): never => {
    throw new InvalidReferenceError(input, problem, hint);
  };
  if (input === '') fail('repository name must have at least one component');
  if (IDENTIFIER.test(input)) {
    fail('a 64-character hexadecimal string is an image ID, not a repository name', 'use name@sha256:<hex>');
  }

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    validateDigest(digest, fail);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      fail(
        tag.length > 128
          ? `tag is ${tag.length} characters long; at most 128 are allowed`
          : `tag ${JSON.stringify(tag)} is not valid (letters, digits, "_", "." and "-", not starting with "." or "-")`,
      );
    }
  }
  if (rest === '') fail('repository name is missing');

  const { domain, path } = splitDockerDomain(rest);
  validateDomain(domain, fail);
  for (const component of path.split('/')) {
    if (component === '') fail(`repository path ${JSON.stringify(path)} has an empty component`);
    if (!PATH_COMPONENT.test(component)) {
      if (PATH_COMPONENT.test(component.toLowerCase())) fail('repository name must be lowercase');
      fail(
        `repository path component ${JSON.stringify(component)} is not valid ` +
          '(lowercase letters and digits, separated by ".", "_", "__" or "-")',
      );
    }
  }
  const name = `${domain}/${path}`;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    fail(
      `repository name ${name} is ${name.length} characters long; at most ${NAME_TOTAL_LENGTH_MAX} are allowed`,
    );
  }

  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** distribution/reference `splitDockerDomain`: is the first component a registry or part of a Hub path? */
function splitDockerDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === LEGACY_DOCKER_HUB_DOMAIN) domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

function validateDomain(domain: string, fail: (problem: string) => never): void {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close !== -1 && domain.length > close + 1) {
      if (domain[close + 1] !== ':') fail(`registry ${JSON.stringify(domain)} is not a valid host[:port]`);
      host = domain.slice(0, close + 1);
      port = domain.slice(close + 2);
    }
    if (!IPV6_HOST.test(host)) {
      fail(
        `registry ${JSON.stringify(domain)} is not a valid IPv6 host (hex digits and ":" inside [ ], no zone)`,
      );
    }
  } else {
    const colon = domain.indexOf(':');
    if (colon !== -1) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
    if (!host.split('.').every((label) => DOMAIN_NAME_COMPONENT.test(label))) {
      fail(`registry host ${JSON.stringify(host)} is not a valid domain name`);
    }
  }
  if (port !== undefined && !PORT.test(port)) fail(`registry port ${JSON.stringify(port)} is not a number`);
}

function validateDigest(digest: string, fail: (problem: string, hint?: string) => never): void {
  if (!DIGEST_SHAPE.test(digest)) {
    fail(`digest ${JSON.stringify(digest)} is not of the form algorithm:hex (at least 32 hex digits)`);
  }
  const sep = digest.indexOf(':');
  const algorithm = digest.slice(0, sep);
  const encoded = digest.slice(sep + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) {
    fail(`digest algorithm ${JSON.stringify(algorithm)} is not supported`, 'use sha256, sha384 or sha512');
  }
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
    fail(`${algorithm} digest must be ${length} lowercase hex digits`);
  }
}

/** Full normalized form: `domain/path[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** `domain/path`: the repository, without tag or digest. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Docker's familiar (short) form: `nginx:latest`, `user/app:1`, `ghcr.io/o/a@sha256:…`. */
export function familiarReference(ref: Reference): string {
  return `${familiarName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** Docker's familiar repository name: `nginx` for `docker.io/library/nginx`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DOCKER_HUB_DOMAIN) return repositoryName(ref);
  const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !rest.includes('/') ? rest : ref.path;
}

/** True when the reference pins content by digest. */
export function isDigested(ref: Reference): ref is Reference & { digest: string } {
  return ref.digest !== undefined;
}

/** The tag or digest to request from `/v2/<path>/manifests/<…>`: the digest when there is one. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
