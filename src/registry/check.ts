// `contrast registry check`: will the confidential guest be able to pull this image by itself?
// The guest's image puller trusts only the public web PKI (no custom CA unless configured, which
// we cannot see), has no registry credentials, and must get exactly the pinned bytes. So per image:
//  - pinned: the reference carries a digest;
//  - tls: the registry's certificate chain verifies against Node's bundled Mozilla roots only
//    (`tls.rootCertificates`; NODE_EXTRA_CA_CERTS, --ca-file, certs.d and insecure settings are
//    deliberately ignored here), with the reason when it does not;
//  - anonymousPull: the manifest can be fetched without any credential (the user's own trust
//    settings apply, so this result is independent of the TLS one);
//  - digestMatch: the served manifest hashes to the pinned digest.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  rootCertificates,
  type PeerCertificate,
  type TLSSocket,
} from 'node:tls';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { parseReference, type Reference } from '../reference/index.js';
import { digestOf, parseDigest } from './digest.js';
import { networkErrorCode } from './retry.js';
import { manifestAccept } from './manifest.js';
import { RegistryError } from './registry-error.js';
import { apiHost, RegistryTransport, type TransportOptions } from './transport.js';

export type TlsProblem =
  | 'self-signed'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-name'
  | 'incomplete-chain'
  | 'untrusted'
  | 'no-tls'
  | 'unreachable';

export interface TlsCheck {
  ok: boolean;
  reason: string | null;
  /** Every problem found (a certificate can be both self-signed and expired). */
  problems: TlsProblem[];
}

export interface PullCheck {
  ok: boolean;
  reason: string | null;
}

export interface ImageCheck {
  image: string;
  pinned: boolean;
  tls: TlsCheck;
  anonymousPull: PullCheck;
  /** null when it could not be determined (not pinned, or the manifest could not be fetched at all). */
  digestMatch: boolean | null;
  ok: boolean;
}

export interface CheckOptions extends TransportOptions {
  timeoutMs?: number;
}

function splitHostPort(hostPort: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  const host = (m?.[1] ?? hostPort).replace(/^\[|\]$/g, '');
  return { host, port: m?.[2] ? Number(m[2]) : 443 };
}

const selfSignedCodes = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
const missingIssuerCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

function authorizationCode(err: Error | string | null | undefined): string {
  if (!err) return '';
  if (typeof err === 'string') return err;
  return (err as NodeJS.ErrnoException).code ?? err.message;
}

function subjectCN(cert: PeerCertificate): string {
  const cn = cert.subject?.CN;
  return Array.isArray(cn) ? cn.join(', ') : (cn ?? '?');
}

function issuerCN(cert: PeerCertificate): string {
  const cn = cert.issuer?.CN ?? cert.issuer?.O;
  return Array.isArray(cn) ? cn.join(', ') : (cn ?? '?');
}

let publicRoots: X509Certificate[] | undefined;

function roots(): X509Certificate[] {
  if (!publicRoots) {
    publicRoots = [];
    for (const pem of rootCertificates) {
      try {
        publicRoots.push(new X509Certificate(pem));
      } catch {
        // an unparsable bundled root cannot anchor anything
      }
    }
  }
  return publicRoots;
}

/**
 * Walks the served chain to its top and says whether it ends in (or is signed by) a bundled root.
 * Used when OpenSSL's single error code (expired, wrong name) may hide an untrusted chain.
 */
function chainTrust(leaf: PeerCertificate): { problem: TlsProblem; reason: string } | undefined {
  let top = leaf;
  for (let i = 0; i < 10; i++) {
    const up = (top as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
    if (!up || up === top || up.fingerprint256 === top.fingerprint256) break;
    top = up;
  }
  const x = new X509Certificate(top.raw);
  const bundled = roots();
  if (bundled.some((r) => r.fingerprint256 === x.fingerprint256)) return undefined;
  if (x.checkIssued(x)) {
    return top === leaf
      ? { problem: 'self-signed', reason: `self-signed certificate (CN=${subjectCN(leaf)})` }
      : {
          problem: 'self-signed',
          reason: `self-signed root in the chain ("${subjectCN(top)}" is not a public web PKI root)`,
        };
  }
  if (bundled.some((r) => x.checkIssued(r) && x.verify(r.publicKey))) return undefined;
  return top.infoAccess?.['CA Issuers - URI']?.length
    ? {
        problem: 'incomplete-chain',
        reason: `incomplete chain: the server does not send the issuer of "${subjectCN(top)}"`,
      }
    : {
        problem: 'self-signed',
        reason: `issued by "${issuerCN(top)}", a private or self-signed CA that is not in the public web PKI`,
      };
}

/** Classifies a handshake that completed without verification. Pure: exported for tests. */
function classifyCertificate(host: string, code: string, chain: PeerCertificate, now = Date.now()): TlsCheck {
  const problems: TlsProblem[] = [];
  const reasons: string[] = [];
  if (code) {
    if (selfSignedCodes.has(code)) {
      problems.push('self-signed');
      reasons.push(
        code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
          ? `self-signed certificate (CN=${subjectCN(chain)})`
          : `self-signed root in the chain (issuer "${issuerCN(chain)}" is not a public web PKI root)`,
      );
    } else if (missingIssuerCodes.has(code)) {
      // A leaf that points to its issuer (AIA) is most likely from a public CA with the intermediate
      // missing; without AIA it is a private CA whose root the server does not send.
      const aia = chain.infoAccess?.['CA Issuers - URI'];
      if (aia?.length) {
        problems.push('incomplete-chain');
        reasons.push(
          `incomplete chain: the server does not send the intermediate certificate "${issuerCN(chain)}" (see ${aia[0]})`,
        );
      } else {
        problems.push('self-signed');
        reasons.push(
          `issued by "${issuerCN(chain)}", a private or self-signed CA that is not in the public web PKI`,
        );
      }
    } else if (
      code === 'CERT_HAS_EXPIRED' ||
      code === 'CERT_NOT_YET_VALID' ||
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
    ) {
      // OpenSSL reports only the first error, so an expired certificate hides an untrusted root:
      // look at the chain ourselves. (Dates and names are checked below.)
      const trust = chainTrust(chain);
      if (trust) {
        problems.push(trust.problem);
        reasons.push(trust.reason);
      }
    } else {
      problems.push('untrusted');
      reasons.push(`certificate not trusted (${code})`);
    }
  }
  const notAfter = Date.parse(chain.valid_to);
  const notBefore = Date.parse(chain.valid_from);
  if (!Number.isNaN(notAfter) && notAfter < now) {
    problems.push('expired');
    reasons.push(`certificate expired on ${new Date(notAfter).toISOString()}`);
  } else if (!Number.isNaN(notBefore) && notBefore > now) {
    problems.push('not-yet-valid');
    reasons.push(`certificate not valid before ${new Date(notBefore).toISOString()}`);
  }
  const nameErr = checkServerIdentity(host, chain);
  if (nameErr) {
    problems.push('wrong-name');
    const names = chain.subjectaltname
      ? chain.subjectaltname.replace(/DNS:|IP Address:/g, '')
      : `CN=${subjectCN(chain)}`;
    reasons.push(`wrong name: certificate is for ${names}, not ${host}`);
  }
  if (code && problems.length === 0) {
    problems.push('untrusted');
    reasons.push(`certificate not trusted (${code})`);
  }
  return { ok: problems.length === 0, reason: reasons.length ? reasons.join('; ') : null, problems };
}

/**
 * Connects to host:port and verifies the chain against Node's bundled roots only. Passing `ca`
 * explicitly replaces the default store, which is where NODE_EXTRA_CA_CERTS would be added.
 */
export function checkPublicTls(hostPort: string, timeoutMs = 10_000): Promise<TlsCheck> {
  const { host, port } = splitHostPort(hostPort);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: TlsCheck, socket?: TLSSocket): void => {
      if (settled) return;
      settled = true;
      socket?.destroy();
      resolve(r);
    };
    const socket = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      ca: [...rootCertificates],
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setTimeout(timeoutMs, () =>
      finish(
        {
          ok: false,
          reason: `no TLS handshake with ${hostPort} within ${timeoutMs} ms`,
          problems: ['unreachable'],
        },
        socket,
      ),
    );
    socket.once('secureConnect', () => {
      const chain = socket.getPeerCertificate(true);
      if (!chain || !chain.raw) {
        finish({ ok: false, reason: 'server sent no certificate', problems: ['untrusted'] }, socket);
        return;
      }
      const code = socket.authorized ? '' : authorizationCode(socket.authorizationError);
      finish(classifyCertificate(host, code, chain), socket);
    });
    socket.once('error', (err) => {
      const code = networkErrorCode(err) ?? '';
      const text = errorMessage(err);
      if (
        /wrong version number|packet length too long|EPROTO|unknown protocol|http request/i.test(
          `${code} ${text}`,
        )
      ) {
        finish(
          {
            ok: false,
            reason: `${hostPort} does not speak TLS (plain HTTP?); the guest pulls over HTTPS`,
            problems: ['no-tls'],
          },
          socket,
        );
      } else {
        finish(
          { ok: false, reason: `cannot connect to ${hostPort}: ${code || text}`, problems: ['unreachable'] },
          socket,
        );
      }
    });
  });
}

function pullReason(err: unknown): string {
  if (err instanceof ContrastError && err.code === 'AUTH_REQUIRED')
    return `registry requires authentication: ${err.message}`;
  if (err instanceof RegistryError) {
    if (err.status === 401) return `registry requires authentication (${err.message})`;
    if (err.status === 403) return `anonymous access denied (${err.message})`;
    if (err.status === 404) return `not found anonymously (${err.message})`;
  }
  return errorMessage(err);
}

const anonymous = async () => ({
  kind: 'anonymous' as const,
  username: null,
  source: { type: 'none', description: 'registry check: no credentials, like the guest' },
});

export class RegistryChecker {
  private readonly anon: RegistryTransport;
  private readonly authed: RegistryTransport;
  private readonly tls = new Map<string, Promise<TlsCheck>>();

  constructor(private readonly options: CheckOptions = {}) {
    const retry = { maxRetries: 1, ...options.retry };
    this.anon = new RegistryTransport({ ...options, retry, credentialResolver: anonymous });
    this.authed = new RegistryTransport({ ...options, retry });
  }

  private publicTls(domain: string): Promise<TlsCheck> {
    const host = apiHost(domain);
    let p = this.tls.get(host);
    if (!p) {
      p = checkPublicTls(host, this.options.timeoutMs);
      this.tls.set(host, p);
    }
    return p;
  }

  async check(image: string): Promise<ImageCheck> {
    let ref: Reference;
    try {
      ref = parseReference(image);
    } catch (err) {
      const reason = errorMessage(err);
      return {
        image,
        pinned: false,
        tls: { ok: false, reason, problems: [] },
        anonymousPull: { ok: false, reason },
        digestMatch: null,
        ok: false,
      };
    }
    const pinned = ref.digest !== undefined;
    const [tls, pulled] = await Promise.all([this.publicTls(ref.domain), this.fetch(ref)]);
    let digestMatch: boolean | null = null;
    if (pinned && pulled.bytes) {
      digestMatch = digestOf(pulled.bytes, parseDigest(ref.digest as string).algorithm) === ref.digest;
    }
    return {
      image,
      pinned,
      tls,
      anonymousPull: pulled.anonymous,
      digestMatch,
      ok: pinned && tls.ok && pulled.anonymous.ok && digestMatch === true,
    };
  }

  /** Anonymous fetch; if that fails, a credentialed one so the digest can still be compared. */
  private async fetch(ref: Reference): Promise<{ anonymous: PullCheck; bytes?: Uint8Array }> {
    try {
      return { anonymous: { ok: true, reason: null }, bytes: await fetchManifest(this.anon, ref) };
    } catch (err) {
      const anonymousResult = { ok: false, reason: pullReason(err) };
      try {
        return { anonymous: anonymousResult, bytes: await fetchManifest(this.authed, ref) };
      } catch {
        return { anonymous: anonymousResult };
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.anon.close(), this.authed.close()]);
  }
}

async function fetchManifest(t: RegistryTransport, ref: Reference): Promise<Uint8Array> {
  const res = await t.request({
    registry: ref.domain,
    repository: ref.path,
    actions: ['pull'],
    method: 'GET',
    path: `/v2/${ref.path}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`,
    headers: { accept: manifestAccept },
    what: `manifest ${ref.domain}/${ref.path}`,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 4 * 1024 * 1024) {
      res.body.destroy();
      throw new Error('manifest larger than 4 MiB');
    }
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** Checks every image (deduplicated, in order). */
export async function checkImages(
  images: readonly string[],
  options: CheckOptions = {},
): Promise<ImageCheck[]> {
  const checker = new RegistryChecker(options);
  const unique = [...new Set(images)];
  const results: ImageCheck[] = new Array(unique.length);
  let next = 0;
  // A few at a time: a big deployment must not open hundreds of connections at once.
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const i = next++;
      results[i] = await checker.check(unique[i] as string);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(8, unique.length) }, worker));
    return results;
  } finally {
    await checker.close();
  }
}
