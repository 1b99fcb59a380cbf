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
const PAUSE_ID =
  'a pause container whose id (bundle) is not its sandbox id: containerd gives the sandbox container the sandbox id, so our rules tie the pod identity to it';
const NO_IMAGE_STORAGE =
  'an app container without the image_guest_pull storage that forced guest pull sends for every container (kata_agent.go handleImageGuestPullBlockVolume): without it the host would choose the root file system';
const DOCUMENTED: Record<string, string> = {
  'createcontainer/generate_name#0': `${PAUSE_ID}; also a 3-character generateName suffix, Kubernetes always appends 5`,
  'createcontainer/network_namespace#0': PAUSE_ID,
  'createcontainer/network_namespace#1': PAUSE_ID,
  'createcontainer/security_context/runas#0': PAUSE_ID,
  'createcontainer/security_context/runas#1':
    'the pod was not admitted: its pause container (#0) was refused',
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

/** dir#index → why genpolicy's own rules with our data differ from the suite (README). */
const UPSTREAM_DOCUMENTED: Record<string, string> = {
  'createcontainer/generate_name#0':
    'our sandbox-name regex wants the 5-character suffix Kubernetes appends (the case has 3)',
};

const SANDBOX_FIRST =
  'an app container (or an exec in it) before any pause container: the runtime always creates the pause container first';

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
  return DOCUMENTED[caseKey(r)] ?? (r.gotWithSandbox === r.expected ? SANDBOX_FIRST : undefined);
}

test('genpolicy suite (1): our rules with genpolicy settings agree with every verdict', async (t) => {
  const results = await runAll(t, 'ours');
  if (!results) return;
  report('our rules + genpolicy settings', results);
  // Every disagreement is documented: either the case starts with an app container (it agrees once
  // the pod's pause container was admitted first), or it is listed in DOCUMENTED.
  const undocumented = summarize(results)
    .differing.filter((r) => !documented(r))
    .map(caseKey);
  assert.deepEqual(undocumented, []);
  assert.deepEqual(summarize(results, true).differing.map(caseKey).sort(), Object.keys(DOCUMENTED).sort());
});

test('genpolicy suite (2): genpolicy rules.rego (-p) with our data agree with every verdict', async (t) => {
  const results = await runAll(t, 'genpolicy');
  if (!results) return;
  report('genpolicy rules + our data', results);
  const differing = summarize(results).differing.map(caseKey).sort();
  assert.deepEqual(differing, Object.keys(UPSTREAM_DOCUMENTED).sort());
});
