import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { chainIds, tarfsLayerNames } from './chain.js';

test('chain ids follow the OCI definition; names hash the chain id', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  const second = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
  assert.deepEqual(chainIds([a, b]), [a, second]);
  assert.equal(tarfsLayerNames([a])[0], createHash('sha256').update(a).digest('hex'));
  assert.deepEqual(chainIds([]), []);
});
