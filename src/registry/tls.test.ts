// TLS trust sources against a local HTTPS server using the lab's certificates (CA-signed for 127.0.0.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/shared.js';
import { anonymous, fastRetry } from '../../test/registry-fake.js';
import { RegistryTransport, type TransportOptions } from './transport.js';

const certs = join(process.env['LAB_STATE'] ?? join(repoRoot, 'test/lab/state'), 'certs');
const haveCerts = existsSync(join(certs, 'server.crt'));
const skip = haveCerts ? false : 'lab certificates not generated (run test/lab/lab.sh up)';

async function httpsServer(
  extra: { requestCert?: boolean; ca?: string } = {},
): Promise<{ server: Server; host: string; clientCerts: string[] }> {
  const clientCerts: string[] = [];
  const server = createServer(
    {
      cert: readFileSync(join(certs, 'server.crt')),
      key: readFileSync(join(certs, 'server.key')),
      ...extra,
      rejectUnauthorized: !!extra.requestCert,
    },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      if (peer?.subject) clientCerts.push(String(peer.subject.CN));
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      if (req.url === '/v2/a/b/blobs/down')
        return void res.writeHead(302, { location: 'http://127.0.0.1:1/x' }).end();
      res.writeHead(200).end('ok');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, clientCerts };
}

async function fetchVia(
  host: string,
  options: TransportOptions,
  path = '/v2/a/b/manifests/x',
): Promise<number> {
  const tr = new RegistryTransport({
    credentialResolver: async () => anonymous,
    retry: fastRetry,
    certsDirs: [],
    ...options,
  });
  try {
    const res = await tr.request({
      registry: host,
      repository: 'a/b',
      actions: ['pull'],
      method: 'GET',
      path,
      what: 'manifest a/b:x',
    });
    await res.body.dump();
    return res.status;
  } finally {
    await tr.close();
  }
}

test('unknown CA: a TLS error with a hint naming the ways to trust it', { skip }, async (t) => {
  const s = await httpsServer();
  t.after(() => s.server.close());
  await assert.rejects(fetchVia(s.host, { env: {} }), (err: Error & { hint?: string; code?: string }) => {
    assert.equal(err.code, 'TLS_VERIFY');
    assert.match(err.message, new RegExp(`TLS verification of ${s.host} failed`));
    assert.match(err.hint ?? '', new RegExp(`--ca-file, NODE_EXTRA_CA_CERTS or certs.d/${s.host}/ca.crt`));
    return true;
  });
});

test(
  'trust from --ca-file, --cert-dir, certs.d/<host:port>/ca.crt, NODE_EXTRA_CA_CERTS; or insecure',
  { skip },
  async (t) => {
    const s = await httpsServer();
    t.after(() => s.server.close());
    assert.equal(await fetchVia(s.host, { env: {}, caFile: join(certs, 'ca.crt') }), 200);
    assert.equal(await fetchVia(s.host, { env: {}, certDir: join(certs, 'trust') }), 200);
    const root = mkdtempSync(join(tmpdir(), 'certsd-'));
    mkdirSync(join(root, s.host));
    copyFileSync(join(certs, 'ca.crt'), join(root, s.host, 'ca.crt'));
    assert.equal(await fetchVia(s.host, { env: {}, certsDirs: [root] }), 200);
    // NODE_EXTRA_CA_CERTS stays trusted even when another host-specific CA forces an explicit CA list
    const other = mkdtempSync(join(tmpdir(), 'certsd-'));
    mkdirSync(join(other, s.host));
    copyFileSync(join(certs, 'token-signing.crt'), join(other, s.host, 'unrelated.crt'));
    assert.equal(
      await fetchVia(s.host, { env: { NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') }, certsDirs: [other] }),
      200,
    );
    assert.equal(await fetchVia(s.host, { env: {}, insecureRegistries: [s.host] }), 200);
  },
);

test('client certificate from certs.d (client.cert + client.key)', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clientcert-'));
  const hostDirRoot = join(dir, 'certs.d');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'client.key'),
      '-out',
      join(dir, 'client.cert'),
      '-subj',
      '/CN=contrast-client',
      '-days',
      '1',
    ],
    { stdio: 'ignore' },
  );
  const s = await httpsServer({ requestCert: true, ca: readFileSync(join(dir, 'client.cert'), 'utf8') });
  t.after(() => s.server.close());
  mkdirSync(join(hostDirRoot, s.host), { recursive: true });
  copyFileSync(join(certs, 'ca.crt'), join(hostDirRoot, s.host, 'ca.crt'));
  copyFileSync(join(dir, 'client.cert'), join(hostDirRoot, s.host, 'client.cert'));
  copyFileSync(join(dir, 'client.key'), join(hostDirRoot, s.host, 'client.key'));
  assert.equal(await fetchVia(s.host, { env: {}, certsDirs: [hostDirRoot] }), 200);
  assert.ok(s.clientCerts.includes('contrast-client'));
});

test('https → http redirect is refused unless the target is insecure', { skip }, async (t) => {
  const s = await httpsServer();
  t.after(() => s.server.close());
  await assert.rejects(
    fetchVia(s.host, { env: {}, caFile: join(certs, 'ca.crt') }, '/v2/a/b/blobs/down'),
    /refusing redirect from https:\/\/127.0.0.1:\d+ to plain-HTTP http:\/\/127.0.0.1:1/,
  );
});
