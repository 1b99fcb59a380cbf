// Third-party data (rego conformance cases, recorded agent requests) lives in ../shared, never in this
// repo. Tests read it from there and skip with a clear message where it is absent.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * The repository. `npm test` runs a compiled copy of src/ and test/ from a temporary directory whose
 * package.json is a link to the real one (scripts/test.mjs): follow it, so examples, fixtures and
 * the lab are read where they live.
 */
export const repoRoot = dirname(realpathSync(resolve(import.meta.dirname, '../../package.json')));
/** The checked-in FIXTURE release directory of a Contrast release line (test/fixtures/releases). */
export function fixtureRelease(line: '2025' | '2026'): string {
  return join(repoRoot, 'test/fixtures/releases', `fixture-${line}`);
}
export const sharedDir = process.env['CONTRAST_SHARED'] ?? resolve(repoRoot, '../shared');

/** Path of a file or folder under ../shared, or undefined (and the test skipped) when missing. */
export function sharedPath(t: TestContext, rel: string): string | undefined {
  const p = join(sharedDir, rel);
  if (!existsSync(p)) {
    t.skip(`${p} not found: this test reads third-party data from ../shared (set CONTRAST_SHARED)`);
    return undefined;
  }
  return p;
}
