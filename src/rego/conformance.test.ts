// Runs the regorus conformance cases from ../shared/rego-cases (third-party data, never copied into
// this repo) against our engine. Fails when the pass rate drops below 97% or when a case that is not
// listed in conformance-skips.json fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedPath } from '../../test/helpers/shared.js';
import { runAll } from './conformance.js';

const skips = (
  JSON.parse(readFileSync(join(import.meta.dirname, 'conformance-skips.json'), 'utf8')) as {
    skips: Record<string, string>;
  }
).skips;

test('regorus conformance cases', (t) => {
  const dir = sharedPath(t, 'rego-cases');
  if (!dir) return;
  const results = runAll(dir);
  const counted = results.filter((r) => !r.upstreamSkip);
  const passed = counted.filter((r) => r.ok).length;
  const rate = passed / counted.length;
  const unexpected = results.filter((r) => !r.ok && !(r.id in skips));
  const fixed = results.filter((r) => r.ok && r.id in skips).map((r) => r.id);
  t.diagnostic(
    `conformance: ${passed}/${counted.length} passed (${(rate * 100).toFixed(1)}%), ` +
      `${results.length - counted.length} marked skip upstream, ${Object.keys(skips).length} listed in conformance-skips.json`,
  );
  if (fixed.length)
    t.diagnostic(
      `listed as skipped but passing now (remove from conformance-skips.json): ${fixed.join(', ')}`,
    );
  assert.deepEqual(
    unexpected.map((r) => `${r.id}: ${r.detail.slice(0, 300)}`),
    [],
    'cases failing that are not listed in conformance-skips.json',
  );
  assert.ok(rate >= 0.97, `pass rate ${(rate * 100).toFixed(1)}% is below 97%`);
});
