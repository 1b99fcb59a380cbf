// Trust and client certificates per registry host. Sources, merged:
//  - Node's bundled roots plus NODE_EXTRA_CA_CERTS (what a plain `fetch` trusts),
//  - an explicit CA file (`--ca-file`),
//  - a cert dir that applies to every host (`--cert-dir`, like skopeo: *.crt CAs, *.cert/*.key client pair),
//  - docker/podman per-host directories `certs.d/<host[:port]>/` (ca.crt, client.cert, client.key).
// Insecure registries skip verification entirely; that is only ever done for hosts the user named.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { readTextInputSync } from '../internal/files.js';

export interface TlsOptions {
  caFile?: string;
  certDir?: string;
  /** Roots of per-host `certs.d` trees; defaults to the docker and podman locations. */
  certsDirs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Connection options for undici's `connect` / `requestTls`. */
export interface TlsSettings {
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  /** What was loaded, for debug logs (paths only). */
  sources: string[];
}

function defaultCertsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env['HOME'] ?? homedir();
  return [
    join(home, '.config/containers/certs.d'),
    '/etc/containers/certs.d',
    join(home, '.docker/certs.d'),
    '/etc/docker/certs.d',
  ];
}

function readText(path: string, what: string): string {
  try {
    return readTextInputSync(path, what);
  } catch (err) {
    if (err instanceof ContrastError && err.code !== 'READ')
      throw new ContrastError(err.message, { code: 'TLS_CONFIG' });
    const cause = err instanceof ContrastError ? err.cause : err;
    throw new ContrastError(`cannot read ${what} ${path}: ${errorMessage(cause)}`, { code: 'TLS_CONFIG' });
  }
}

interface DirMaterial {
  cas: string[];
  cert?: string;
  key?: string;
  sources: string[];
}

/** Reads a docker-style cert directory: *.crt are CAs; a.cert with a.key is a client key pair. */
function readCertDir(dir: string): DirMaterial {
  const out: DirMaterial = { cas: [], sources: [] };
  if (!existsSync(dir)) return out;
  const names = readdirSync(dir).sort();
  for (const name of names) {
    const full = join(dir, name);
    if (name.endsWith('.crt')) {
      out.cas.push(readText(full, 'CA certificate'));
      out.sources.push(full);
    } else if (name.endsWith('.cert')) {
      const keyPath = join(dir, `${name.slice(0, -'.cert'.length)}.key`);
      if (!existsSync(keyPath)) {
        throw new ContrastError(`client certificate ${full} has no matching key ${keyPath}`, {
          code: 'TLS_CONFIG',
        });
      }
      out.cert = readText(full, 'client certificate');
      out.key = readText(keyPath, 'client key');
      out.sources.push(full);
    }
  }
  return out;
}

/** certs.d directory name for a host: docker drops the port for 443. */
function certsDirNames(hostPort: string): string[] {
  return hostPort.endsWith(':443') ? [hostPort, hostPort.slice(0, -4)] : [hostPort];
}

/**
 * TLS settings for connections to `hostPort`, or undefined when Node's defaults apply
 * (no extra material, verification on). Results are cached by the caller.
 */
export function tlsSettingsFor(
  hostPort: string,
  insecure: boolean,
  options: TlsOptions,
): TlsSettings | undefined {
  if (insecure) return { rejectUnauthorized: false, sources: ['insecure (verification disabled)'] };
  const env = options.env ?? process.env;
  const cas: string[] = [];
  const sources: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  if (options.caFile) {
    cas.push(readText(options.caFile, 'CA file'));
    sources.push(options.caFile);
  }
  const dirs: string[] = [];
  if (options.certDir) dirs.push(options.certDir);
  for (const root of options.certsDirs ?? defaultCertsDirs(env)) {
    for (const name of certsDirNames(hostPort)) dirs.push(join(root, name));
  }
  for (const dir of dirs) {
    const m = readCertDir(dir);
    cas.push(...m.cas);
    sources.push(...m.sources);
    if (m.cert && !cert) {
      cert = m.cert;
      key = m.key;
    }
  }
  if (cas.length === 0 && !cert) return undefined;
  // Passing `ca` replaces Node's trust store, so re-add the bundled roots and NODE_EXTRA_CA_CERTS.
  const extra = env['NODE_EXTRA_CA_CERTS'];
  const ca = [
    ...rootCertificates,
    ...(extra && existsSync(extra) ? [readText(extra, 'NODE_EXTRA_CA_CERTS')] : []),
    ...cas,
  ];
  return { ca, rejectUnauthorized: true, sources, ...(cert ? { cert, key } : {}) };
}
