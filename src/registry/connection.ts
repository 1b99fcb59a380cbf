// undici dispatchers: one per distinct TLS configuration, each with keep-alive connection pools per
// origin and HTTPS_PROXY / HTTP_PROXY / NO_PROXY applied (read from the given environment, not only
// process.env, so callers and tests can control it).
import { createSecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { EnvHttpProxyAgent } from './undici-parts.js';
import { tlsSettingsFor, type TlsOptions, type TlsSettings } from './tls.js';

export interface ConnectionOptions extends TlsOptions {
  /** host[:port] values whose TLS is not verified. */
  isInsecure: (hostPort: string) => boolean;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Keep-alive connections per origin (requests beyond this queue); default 16. */
  maxConnectionsPerHost?: number;
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name.toLowerCase()] ?? env[name.toUpperCase()] ?? undefined;
}

export class Connections {
  private readonly byKey = new Map<string, Dispatcher>();
  private readonly tlsByHost = new Map<string, TlsSettings | undefined>();

  constructor(private readonly options: ConnectionOptions) {}

  /** TLS settings for a host (cached), undefined for Node defaults. */
  tls(hostPort: string): TlsSettings | undefined {
    if (!this.tlsByHost.has(hostPort)) {
      this.tlsByHost.set(hostPort, tlsSettingsFor(hostPort, this.options.isInsecure(hostPort), this.options));
    }
    return this.tlsByHost.get(hostPort);
  }

  dispatcher(url: URL): Dispatcher {
    const hostPort = url.port ? url.host : `${url.host}:${url.protocol === 'https:' ? 443 : 80}`;
    const tls = url.protocol === 'https:' ? this.tls(url.port ? url.host : `${url.hostname}:443`) : undefined;
    const key = tls ? hostPort : 'default';
    let d = this.byKey.get(key);
    if (!d) {
      const env = this.options.env ?? process.env;
      // One SecureContext per TLS configuration: passing `ca` per connection would re-parse the whole
      // root store on every handshake (tens of ms each when connections open concurrently).
      const connect = tls
        ? {
            secureContext: createSecureContext({
              ...(tls.ca ? { ca: tls.ca } : {}),
              ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
            }),
            rejectUnauthorized: tls.rejectUnauthorized,
          }
        : {};
      d = new EnvHttpProxyAgent({
        httpProxy: envValue(env, 'http_proxy') ?? '',
        httpsProxy: envValue(env, 'https_proxy') ?? '',
        noProxy: envValue(env, 'no_proxy') ?? '',
        connect,
        requestTls: connect,
        headersTimeout: this.options.headersTimeoutMs ?? 60_000,
        bodyTimeout: this.options.bodyTimeoutMs ?? 120_000,
        connections: this.options.maxConnectionsPerHost ?? 16,
      } as ConstructorParameters<typeof EnvHttpProxyAgent>[0]);
      this.byKey.set(key, d);
    }
    return d;
  }

  /** Proxy URL used for this target, if any (for debug logs; credentials in it are masked). */
  proxyFor(url: URL): string | undefined {
    const env = this.options.env ?? process.env;
    const proxy =
      url.protocol === 'https:'
        ? (envValue(env, 'https_proxy') ?? envValue(env, 'http_proxy'))
        : envValue(env, 'http_proxy');
    if (!proxy) return undefined;
    const noProxy = (envValue(env, 'no_proxy') ?? '').split(/[\s,]+/).filter(Boolean);
    const host = url.hostname.toLowerCase();
    for (const entry of noProxy) {
      if (entry === '*') return undefined;
      const [h, p] = entry.replace(/^\*?\./, '.').split(':');
      if (p && p !== (url.port || (url.protocol === 'https:' ? '443' : '80'))) continue;
      if (h && (host === h.replace(/^\./, '') || (h.startsWith('.') && host.endsWith(h)))) return undefined;
    }
    try {
      const u = new URL(proxy);
      if (u.password) u.password = '***';
      return u.toString();
    } catch {
      return proxy;
    }
  }

  async close(): Promise<void> {
    const all = [...this.byKey.values()];
    this.byKey.clear();
    await Promise.all(all.map((d) => d.close()));
  }
}
