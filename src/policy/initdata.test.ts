// The initdata annotation's gzip: the rules part of the TOML deflated once for every workload of a
// run, each workload's policy data deflated on its own, joined into one gzip member.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import {
  decodeInitdataValue,
  encodeInitdataValue,
  encodeInitdataValueAsync,
  initdataToml,
} from './initdata.js';
import { defaultRulesPath } from './index.js';

const rules = readFileSync(defaultRulesPath(), 'utf8');
const toml = (rulesText: string, data: unknown, extra: Record<string, string> = {}): string =>
  initdataToml(`${rulesText}\npolicy_data := ${JSON.stringify(data, null, 2)}`, extra);

/** The deflate stream between a plain 10-byte header and the 8-byte trailer, inflated raw. */
function oneMember(gz: Buffer): string {
  assert.deepEqual([...gz.subarray(0, 4)], [0x1f, 0x8b, 8, 0], 'gzip header: deflate, no flags');
  return inflateRawSync(gz.subarray(10, gz.length - 8)).toString('utf8');
}

test('initdata gzip: the built-in rules deflated once, each TOML still one gzip member that gunzip, GNU gzip and a raw inflate read', () => {
  const a = toml(rules, { containers: [{ image: 'a' }] });
  const b = toml(
    rules,
    { containers: [{ image: 'b', env: ['X=ü'] }] },
    { 'contrast.insecure-debug': 'true' },
  );
  for (const t of [a, b, a]) {
    const gz = Buffer.from(encodeInitdataValue(t), 'base64');
    assert.equal(gunzipSync(gz).toString('utf8'), t); // checks the CRC-32 and the size too
    assert.equal(decodeInitdataValue(gz.toString('base64')), t);
    assert.equal(execFileSync('gzip', ['-dc'], { input: gz }).toString('utf8'), t);
    assert.equal(oneMember(gz), t);
    // No larger than a whole-TOML gzip by more than a few per cent.
    assert.ok(gz.length <= gzipSync(t).length * 1.05, `${gz.length} vs ${gzipSync(t).length}`);
  }
  // Two TOMLs with the same rules share the bytes of the rules' blocks.
  const ga = Buffer.from(encodeInitdataValue(a), 'base64');
  const gb = Buffer.from(encodeInitdataValue(b), 'base64');
  let same = 0;
  while (same < ga.length && ga[same] === gb[same]) same++;
  assert.ok(same > 5000, `common leading bytes: ${same}`);
});

test('initdata gzip: the pool gives the same bytes as the synchronous encoder, whatever came before', async () => {
  const other = toml('package other\n\ndefault X := true\n', { containers: [] });
  const t = toml(rules, { containers: [] });
  const first = encodeInitdataValue(t);
  encodeInitdataValue(other); // another shared part in between
  assert.equal(await encodeInitdataValueAsync(t), first);
  assert.equal(encodeInitdataValue(t), first);
  assert.equal(decodeInitdataValue(await encodeInitdataValueAsync(other)), other);
});

test('initdata gzip: any policy text, with or without policy data, multi-byte text on either side (property)', async () => {
  const side = fc.string({ unit: 'binary', maxLength: 200 });
  await fc.assert(
    fc.asyncProperty(side, side, fc.boolean(), async (head, tail, marked) => {
      const t = initdataToml(marked ? `${head}\npolicy_data := ${tail}` : head + tail);
      const sync = encodeInitdataValue(t);
      assert.equal(gunzipSync(Buffer.from(sync, 'base64')).toString('utf8'), t);
      assert.equal(await encodeInitdataValueAsync(t), sync);
    }),
    { numRuns: 300 },
  );
});
