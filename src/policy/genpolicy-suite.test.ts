// Acceptance: Kata genpolicy's own policy suite, replayed on policies our generator writes (see
// testdata/genpolicy-suite.ts for how each case directory is run). Two figures are printed:
// (1) our rules with genpolicy's settings file (-s), (2) genpolicy's rules.rego (-p) with our data.
// Every verdict must equal the suite's `allowed`, except the cases src/policy/README.md lists under
// "Where we are stricter than genpolicy's suite" (DOCUMENTED below, same list): a case that starts
// to agree, or a new disagreement, fails the test.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab } from '../../test/helpers/lab.js';
import { sharedPath } from '../../test/helpers/shared.js';
import {
  SUITE_SUBDIR,
  SuiteRegistry,
  caseKey,
  haveSkopeo,
  runSuiteDir,
  suiteDirs,
  summarize,
  type CaseResult,
} from './testdata/genpolicy-suite.js';

/** dir#index → why our verdict is stricter (mirrors src/policy/README.md). */
export const DOCUMENTED: Record<string, string> = {};

async function runAll(
  t: import('node:test').TestContext,
  rules: 'ours' | 'genpolicy',
): Promise<CaseResult[] | undefined> {
  const root = sharedPath(t, SUITE_SUBDIR);
  const settingsPath = sharedPath(t, join('kata-genpolicy', 'genpolicy-settings.json'));
  const upstreamRules = sharedPath(t, join('kata-genpolicy', 'rules.rego'));
  if (!root || !settingsPath || !upstreamRules) return undefined;
  const l = requireLab(t);
  if (!l) return undefined;
  if (!haveSkopeo()) {
    t.skip('skopeo not installed: cannot push the equivalent images');
    return undefined;
  }
  const registry = new SuiteRegistry(l.a);
  const results: CaseResult[] = [];
  for (const dir of suiteDirs(root)) {
    results.push(
      ...(await runSuiteDir(dir, {
        suiteRoot: root,
        settingsPath,
        registry,
        ...(rules === 'genpolicy' ? { rulesPath: upstreamRules } : {}),
      })),
    );
  }
  return results;
}

function report(label: string, results: CaseResult[]): void {
  const s = summarize(results);
  console.log(`genpolicy suite, ${label}: ${s.equal}/${s.total} verdicts equal`);
  for (const r of s.differing)
    console.log(
      `  ${caseKey(r)} ${r.kind} "${r.description}": suite ${r.expected}, ours ${r.got}${DOCUMENTED[caseKey(r)] ? ' (documented)' : ''}${r.error ? ` — ${r.error}` : ''}`,
    );
}

test('genpolicy suite (1): our rules with genpolicy settings agree with every verdict', async (t) => {
  const results = await runAll(t, 'ours');
  if (!results) return;
  report('our rules + genpolicy settings', results);
  const differing = summarize(results).differing.map(caseKey).sort();
  assert.deepEqual(differing, Object.keys(DOCUMENTED).sort());
});
