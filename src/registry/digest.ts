// Content digests: every manifest and blob we read is checked against the digest that named it.
// Only sha256 (required by OCI) and sha512 are accepted; anything else is refused rather than trusted.
import { createHash, type Hash } from 'node:crypto';
import { ContrastError } from '../internal/errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

export function parseDigest(digest: string): ParsedDigest {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (!m) throw new ContrastError(`invalid digest "${digest}"`, { code: 'DIGEST_INVALID' });
  const algorithm = m[1] as string;
  const hex = m[2] as string;
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new ContrastError(
      `unsupported digest algorithm "${algorithm}" in "${digest}" (only sha256 and sha512)`,
      {
        code: 'DIGEST_UNSUPPORTED',
      },
    );
  }
  if (hex.length !== hexLength[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new ContrastError(`invalid ${algorithm} digest "${digest}"`, { code: 'DIGEST_INVALID' });
  }
  return { algorithm, hex };
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Incremental check of a byte stream against a digest and (optionally) a size.
 * `update` fails as soon as the size is exceeded, so an over-long body never gets fully buffered.
 */
export class DigestVerifier {
  readonly expected: string;
  readonly expectedSize: number | undefined;
  private readonly hash: Hash;
  private readonly algorithm: DigestAlgorithm;
  private received = 0;

  /**
   * `hash: false` checks the size only, for a caller that hashes the same bytes itself and refuses a
   * mismatch (the layer pass does: hashing 64 MiB twice on the main thread cost ~40 ms per cold
   * `generate`, issue 15).
   */
  constructor(
    expected: string,
    expectedSize: number | undefined,
    private readonly what: string,
    private readonly options: { hash?: boolean } = {},
  ) {
    this.expected = expected;
    this.expectedSize = expectedSize;
    this.algorithm = parseDigest(expected).algorithm;
    this.hash = createHash(this.algorithm);
  }

  get bytesReceived(): number {
    return this.received;
  }

  update(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.expectedSize !== undefined && this.received > this.expectedSize) {
      throw new ContrastError(
        `${this.what}: received more than the ${this.expectedSize} bytes its descriptor declares (${this.expected})`,
        { code: 'SIZE_MISMATCH' },
      );
    }
    if (this.options.hash !== false) this.hash.update(chunk);
  }

  /** Throws unless the bytes seen so far are exactly the expected content (size only with `hash: false`). */
  finish(): void {
    if (this.expectedSize !== undefined && this.received !== this.expectedSize) {
      throw new ContrastError(
        `${this.what}: got ${this.received} bytes, its descriptor declares ${this.expectedSize} (${this.expected})`,
        { code: 'SIZE_MISMATCH' },
      );
    }
    if (this.options.hash === false) return;
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.expected) {
      throw new ContrastError(
        `${this.what}: digest mismatch: expected ${this.expected}, content hashes to ${actual}`,
        {
          code: 'DIGEST_MISMATCH',
          hint: 'the registry (or something between it and us) served different content than the digest names',
        },
      );
    }
  }
}

/** Verifies a complete byte array; throws a ContrastError naming `what` on mismatch. */
export function verifyBytes(
  bytes: Uint8Array,
  expected: string,
  expectedSize: number | undefined,
  what: string,
): void {
  const v = new DigestVerifier(expected, expectedSize, what);
  v.update(bytes);
  v.finish();
}
