// Acceptance: Kata genpolicy's own policy suite, replayed on policies our generator writes (see
// test/helpers/genpolicy-suite.ts for how each case directory is run). Two figures are printed:
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
} from '../../test/helpers/genpolicy-suite.js';

/** dir#index → why our verdict is stricter (mirrors src/policy/README.md). */
const NO_IMAGE_STORAGE =
  'an app container without the image_guest_pull storage that forced guest pull sends for every container (kata_agent.go handleImageGuestPullBlockVolume): without it the host would choose the root file system';
const NO_PAUSE_STORAGE =
  'a pause container without the image_guest_pull storage (source "pause") that forced guest pull sends for it (kata_agent.go handleImageGuestPullBlockVolume): without it its root would be whatever the host got mounted at its root path, not the guest\'s pause bundle';
const DOCUMENTED: Record<string, string> = {
  'createcontainer/generate_name#0': NO_PAUSE_STORAGE,
  'createcontainer/network_namespace#0': NO_PAUSE_STORAGE,
  'createcontainer/network_namespace#1': NO_PAUSE_STORAGE,
  'createcontainer/security_context/runas#0': NO_PAUSE_STORAGE,
  'createcontainer/security_context/runas#1': NO_IMAGE_STORAGE,
  'createcontainer/security_context/supplemental_groups#0': NO_IMAGE_STORAGE,
  'createcontainer/volumes/config_map#0': NO_IMAGE_STORAGE,
  'createcontainer/volumes/container_image#0': `${NO_IMAGE_STORAGE}; also literal "$(default_caps)" capability names`,
  'createcontainer/volumes/emptydir#0': NO_IMAGE_STORAGE,
  'createcontainer/volumes/emptydir#2': NO_IMAGE_STORAGE,
  'state/execprocess#0': NO_IMAGE_STORAGE,
  'state/execprocess#1': NO_IMAGE_STORAGE,
  'state/execprocess#2': 'the exec targets a container that was refused (#0)',
  'createcontainer/gpu_vfio_cdi#0': NO_IMAGE_STORAGE,
  'createcontainer/gpu_vfio_cdi#8': NO_IMAGE_STORAGE,
};

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
  const p = summarize(results, true);
  console.log(`genpolicy suite, ${label}: ${s.equal}/${s.total} verdicts equal as replayed`);
  console.log(
    `genpolicy suite, ${label}: ${p.equal}/${p.total} verdicts equal with the pod's sandbox created first`,
  );
  for (const r of s.differing)
    console.log(
      `  ${caseKey(r)} ${r.kind} "${r.description}": suite ${r.expected}, ours ${r.got}, sandbox first ${r.gotWithSandbox}${documented(r) ? ' (documented)' : ''}${r.error ? ` — ${r.error}` : ''}`,
    );
  for (const r of s.differing) if (r.explain) console.log(`${caseKey(r)}:\n${r.explain.join('\n')}`);
}

function documented(r: CaseResult): string | undefined {
  return DOCUMENTED[caseKey(r)];
}

test('genpolicy suite (1): our rules with genpolicy settings agree with every verdict', async (t) => {
  const results = await runAll(t, 'ours');
  if (!results) return;
  report('our rules + genpolicy settings', results);
  // Exactly the documented cases differ, as replayed and with the pod's sandbox created first (the
  // pod identity comes from the first container admitted, so the order makes no difference).
  const keys = Object.keys(DOCUMENTED).sort();
  assert.deepEqual(summarize(results).differing.map(caseKey).sort(), keys);
  assert.deepEqual(summarize(results, true).differing.map(caseKey).sort(), keys);
});

test('genpolicy suite (2): genpolicy rules.rego (-p) with our data agree with every verdict', async (t) => {
  const results = await runAll(t, 'genpolicy');
  if (!results) return;
  report('genpolicy rules + our data', results);
  assert.deepEqual(summarize(results).differing.map(caseKey), []);
});
