// Upload protocol edge cases against a small fake registry (fault injection): a chunked upload whose
// PATCH answer is lost after the registry stored the bytes, or before it did, continues from what the
// upload session reports instead of starting over or corrupting the blob.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { RegistryTransport, digestOf } from '../src/registry/index.js';
import { uploadBlob } from '../src/registry/push.js';
import { setLogLevel } from '../src/internal/log.js';

setLogLevel('error');

interface Fake {
  host: string;
  stored: () => Buffer | undefined;
  patches: () => number;
}

/** Drops the connection of PATCH number `dropAt` (1-based), after (`afterStore`) or before storing it. */
async function fakeRegistry(
  t: import('node:test').TestContext,
  dropAt: number,
  afterStore: boolean,
): Promise<Fake> {
  let session = Buffer.alloc(0);
  let done: Buffer | undefined;
  let patches = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const range = () => ({ location: '/upload/1?_state=x', range: `0-${session.length - 1}` });
      if (url.pathname === '/v2/') return res.writeHead(200).end('{}');
      if (req.method === 'POST' && url.pathname.endsWith('/blobs/uploads/')) {
        session = Buffer.alloc(0);
        return res.writeHead(202, { location: '/upload/1?_state=x' }).end();
      }
      if (req.method === 'PATCH' && url.pathname === '/upload/1') {
        patches++;
        const [start] = (req.headers['content-range'] ?? '').split('-').map(Number);
        if (start !== session.length) return res.writeHead(416, range()).end();
        const drop = patches === dropAt;
        if (drop && !afterStore) return req.socket.destroy();
        session = Buffer.concat([session, body]);
        if (drop) return req.socket.destroy();
        return res.writeHead(202, range()).end();
      }
      if (req.method === 'GET' && url.pathname === '/upload/1') return res.writeHead(204, range()).end();
      if (req.method === 'PUT' && url.pathname === '/upload/1') {
        const want = url.searchParams.get('digest');
        const all = Buffer.concat([session, body]);
        if (want !== `sha256:${createHash('sha256').update(all).digest('hex')}`)
          return res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
        done = all;
        return res.writeHead(201).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stored: () => done,
    patches: () => patches,
  };
}

const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'); // 46 bytes → 5 chunks of 10

for (const afterStore of [true, false]) {
  test(`chunked upload survives a lost PATCH answer (${afterStore ? 'bytes stored' : 'bytes not stored'})`, async (t) => {
    const fake = await fakeRegistry(t, 2, afterStore);
    const transport = new RegistryTransport({
      insecureRegistries: [`http://${fake.host}`],
      credentialResolver: async () => ({
        kind: 'anonymous',
        username: null,
        source: { type: 'none', description: 'test' },
      }),
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    t.after(() => transport.close());
    const desc = { mediaType: 'application/octet-stream', digest: digestOf(data), size: data.length };
    let progress = 0;
    await uploadBlob(
      transport,
      { registry: fake.host, repository: 'r' },
      desc,
      async () => Readable.from([data.subarray(0, 7), data.subarray(7)]),
      {
        mode: 'chunked',
        chunkSize: 10,
        onBytes: (n) => (progress = n),
      },
    );
    assert.deepEqual(fake.stored(), data);
    assert.equal(progress, data.length);
    assert.ok(fake.patches() >= 6, 'the lost chunk was answered again or re-sent');
  });
}
