// Small local HTTP servers for registry fault-injection tests (images from fixtures/oci): each test scripts the answers, the
// server records what it received (method, path, headers) so tests can assert on Authorization etc.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RegistryCredential } from '../src/registry/types.js';
import { fixtureImage, layerMediaTypes, sha256 } from './fixtures/oci/image.js';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** 127.0.0.1:PORT */
  host: string;
  requests: Recorded[];
  server: Server;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

/** `tls` (PEM certificate and key) makes it an HTTPS server. */
export async function startServer(
  handler: Handler,
  tls?: { cert: string | Buffer; key: string | Buffer },
): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      Promise.resolve(handler(req, res, body)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  };
  const server: Server = tls ? createHttpsServer(tls, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { sha256 };

/** A tiny single-platform OCI image: one layer, a config, a manifest (all bytes and digests). */
export function fakeImage(layerBytes: Buffer = Buffer.from('layer-bytes-'.repeat(1000))) {
  const layer = {
    descriptor: { mediaType: layerMediaTypes.gzip, digest: sha256(layerBytes), size: layerBytes.length },
    diffId: sha256('x'),
    blob: layerBytes,
  };
  const image = fixtureImage([layer], { User: '1000', Entrypoint: ['/bin/app'], Env: ['A=1'] });
  return {
    layer: layerBytes,
    layerDigest: layer.descriptor.digest,
    config: image.config,
    configDigest: image.configDigest,
    manifest: image.manifest,
    manifestDigest: image.manifestDigest,
  };
}

/** Serves a fakeImage under repository `repo`; `override` may answer a request first (return true). */
export function registryHandler(
  image: ReturnType<typeof fakeImage>,
  repo = 'test/app',
  override?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>,
): Handler {
  return async (req, res) => {
    if (override && (await override(req, res))) return;
    const url = req.url ?? '';
    if (url === '/v2/') {
      res.writeHead(200).end('{}');
    } else if (
      url === `/v2/${repo}/manifests/v1` ||
      url === `/v2/${repo}/manifests/${image.manifestDigest}`
    ) {
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        'docker-content-digest': image.manifestDigest,
        'content-length': image.manifest.length,
      });
      res.end(req.method === 'HEAD' ? undefined : image.manifest);
    } else if (url === `/v2/${repo}/blobs/${image.configDigest}`) {
      res.writeHead(200, { 'content-length': image.config.length }).end(image.config);
    } else if (url === `/v2/${repo}/blobs/${image.layerDigest}`) {
      const range = /^bytes=(\d+)-$/.exec(String(req.headers['range'] ?? ''));
      if (range) {
        const start = Number(range[1]);
        res.writeHead(206, {
          'content-length': image.layer.length - start,
          'content-range': `bytes ${start}-${image.layer.length - 1}/${image.layer.length}`,
        });
        res.end(image.layer.subarray(start));
      } else {
        res.writeHead(200, { 'content-length': image.layer.length }).end(image.layer);
      }
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }],
        }),
      );
    }
  };
}

export const anonymous: RegistryCredential = {
  kind: 'anonymous',
  username: null,
  source: { type: 'none', description: 'no credential found' },
};

export function basicCredential(
  username: string,
  password: string,
  description = 'test auth file',
): RegistryCredential {
  return { kind: 'basic', username, password, source: { type: 'file', path: '/tmp/auth.json', description } };
}

/** Fast retries for tests. */
export const fastRetry = {
  maxRetries: 2,
  baseDelayMs: 5,
  maxDelayMs: 20,
  maxTotalMs: 10_000,
  retryAfterCapMs: 5_000,
};
