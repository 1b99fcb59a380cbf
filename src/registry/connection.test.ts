// HTTPS_PROXY / HTTP_PROXY / NO_PROXY through a small local CONNECT proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { anonymous, fakeImage, fastRetry, registryHandler, startServer } from '../../test/registry-fake.js';
import { RegistryClient } from './client.js';

async function proxyServer() {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    // plain forward proxy (absolute-form request target)
    seen.push(`GET ${req.url}`);
    const u = new URL(req.url ?? '');
    const up = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: req.method,
        headers: req.headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const img = fakeImage();

test('requests go through HTTP_PROXY, and bypass it for NO_PROXY hosts', async (t) => {
  const proxy = await proxyServer();
  const reg = await startServer(registryHandler(img));
  t.after(() => Promise.all([proxy.close(), reg.close()]));
  const make = (env: NodeJS.ProcessEnv) =>
    new RegistryClient({
      env,
      insecureRegistries: [`http://${reg.host}`],
      credentialResolver: async () => anonymous,
      retry: fastRetry,
      registriesConfig: { path: undefined, registries: [] },
    });
  const viaProxy = make({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
  t.after(() => viaProxy.close());
  assert.equal((await viaProxy.resolveImage(`${reg.host}/test/app:v1`)).digest, img.manifestDigest);
  assert.ok(proxy.seen.length > 0, 'proxy was used');
  assert.ok(
    proxy.seen.every((s) => s.includes(reg.host)),
    proxy.seen.join(', '),
  );

  const before = proxy.seen.length;
  const bypass = make({ http_proxy: proxy.url, no_proxy: 'localhost,127.0.0.1' });
  t.after(() => bypass.close());
  assert.equal((await bypass.resolveImage(`${reg.host}/test/app:v1`)).digest, img.manifestDigest);
  assert.equal(proxy.seen.length, before, 'NO_PROXY host bypassed the proxy');
});
