// `npm test` must not stop on a busy lab port (issue 13): scripts/lab-ports.mjs picks a free block.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error plain .mjs script without types
import { blockPorts, pickLabPorts, portFree, portsFromLabEnv } from '../scripts/lab-ports.mjs';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port, host: '127.0.0.1' }, () => resolve(srv));
  });
}

describe('lab ports', () => {
  it('skips a block whose token port is busy and returns free ports', async () => {
    // The token port of the first block is taken, like 5003 was. Other tests open ephemeral ports
    // meanwhile, so a candidate block whose +3 port is already in use is simply skipped.
    let base = 0;
    let busy: Server | undefined;
    for (let attempt = 0; attempt < 20 && !busy; attempt++) {
      const probe = await listen(0);
      base = (probe.address() as { port: number }).port;
      probe.close();
      if (base + 200 > 65535) continue;
      busy = await listen(base + 3).catch(() => undefined);
    }
    assert.ok(busy, 'found no block whose token port could be occupied');
    try {
      const ports = (await pickLabPorts({ env: {}, from: base, to: base + 200, step: 20 })) as Record<
        string,
        string
      >;
      assert.notEqual(ports['LAB_PORT_A'], String(base));
      const picked = Number(ports['LAB_PORT_A']);
      for (const p of blockPorts(picked) as number[]) assert.equal(await portFree(p), true, `port ${p}`);
      assert.equal(ports['LAB_PORT_TOKEN'], String(picked + 3));
    } finally {
      busy.close();
    }
  });

  it('keeps explicit LAB_PORT_* and refuses a partial set', async () => {
    const env = { LAB_PORT_A: '7000', LAB_PORT_B: '7001', LAB_PORT_C: '7002', LAB_PORT_TOKEN: '7003' };
    assert.deepEqual(await pickLabPorts({ env }), env);
    await assert.rejects(pickLabPorts({ env: { LAB_PORT_A: '7000' } }), /set all of LAB_PORT_A/);
  });

  it("reuses a running lab's ports from its lab.env", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-ports-'));
    const file = join(dir, 'lab.env');
    writeFileSync(
      file,
      "export LAB_REGISTRY_A='http://127.0.0.1:5400'\nexport LAB_REGISTRY_B='https://127.0.0.1:5401'\n" +
        "export LAB_REGISTRY_C='https://127.0.0.1:5402'\nexport LAB_TOKEN_REALM='https://127.0.0.1:5403/token'\n",
    );
    const want = { LAB_PORT_A: '5400', LAB_PORT_B: '5401', LAB_PORT_C: '5402', LAB_PORT_TOKEN: '5403' };
    assert.deepEqual(portsFromLabEnv(file), want);
    assert.deepEqual(await pickLabPorts({ env: {}, labEnvFile: file, running: true }), want);
  });
});
