// genpolicy's own rules.rego (kata-containers src/tools/genpolicy/rules.rego, third-party data read
// from ../shared/kata-genpolicy at test time, never copied here) must load into our engine verbatim
// and judge requests as the agent would. The policy data is written here by hand, except
// `common` and `request_defaults`, which come from genpolicy's default settings next to the rules
// (what genpolicy copies into every policy); the requests of the non-container cases come from
// genpolicy's own test suite (tests/policy/testdata/<case>/testcases.json).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDir } from '../../test/helpers/shared.js';
import { Engine } from './index.js';

// sharedDir, not a path relative to this file: npm test runs a compiled copy of the tree elsewhere.
const dir = join(sharedDir, 'kata-genpolicy');
const rulesPath = join(dir, 'rules.rego');
const skip = existsSync(rulesPath) ? false : `${rulesPath} is absent (third-party data, see the brief)`;

interface Settings {
  common: unknown;
  request_defaults: unknown;
}

// The sandbox storage genpolicy allows by default: the shm tmpfs, as the runtime sends it in the
// recorded CreateSandboxRequest of ../shared/agent-requests/pod-exec.txt.
const shm = {
  driver: 'ephemeral',
  driver_options: [],
  source: 'shm',
  fstype: 'tmpfs',
  options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=67108864'],
  mount_point: '/run/kata-containers/sandbox/shm',
  fs_group: null,
};

function engine(): Engine {
  const settings = JSON.parse(readFileSync(join(dir, 'genpolicy-settings.json'), 'utf8')) as Settings;
  const policyData = {
    containers: [],
    sandbox: { storages: [shm] },
    common: settings.common,
    request_defaults: settings.request_defaults,
  };
  // the agent evaluates with gathered prints, prefixed by file:line (regorus)
  const e = new Engine({ printLocations: true });
  e.addPolicy('rules.rego', readFileSync(rulesPath, 'utf8'));
  // genpolicy appends `policy_data := {…}` to the rules; a module of the same package is equivalent
  e.addPolicy('data.rego', `package agent_policy\n\npolicy_data := ${JSON.stringify(policyData)}\n`);
  return e;
}

test("genpolicy's rules.rego compiles and its else chains evaluate", { skip }, () => {
  const e = engine();
  const q = (query: string): unknown => e.evalQuery(query)[0]?.expressions[0];
  assert.equal(q('data.agent_policy.normalize_namespace_type("Mount")'), 'mnt');
  assert.equal(q('data.agent_policy.normalize_namespace_type("pid")'), 'pid');
  assert.equal(q('data.agent_policy.strip_cap_prefix("CAP_SYS_ADMIN")'), 'SYS_ADMIN');
  assert.equal(q('data.agent_policy.strip_cap_prefix("NET_RAW")'), 'NET_RAW');
});

test("genpolicy's rules.rego judges CreateSandboxRequest and prints as the agent does", { skip }, () => {
  const e = engine();
  // shape of the recorded request (../shared/agent-requests/pod-exec.txt)
  const request = {
    hostname: 'exec-test',
    dns: ['nameserver 10.0.0.10'],
    storages: [shm],
    sandbox_pidns: false,
    sandbox_id: 'aac41059addb88a5ae3ab458912d6ea167cdf3e055a7c6698b647bac4fdb5c8b',
    guest_hook_path: '',
    kernel_modules: [],
  };
  e.setInput(request);
  assert.equal(e.evalRule('data.agent_policy.CreateSandboxRequest'), true);
  const prints = e.takePrints().map((p) => p.replace(/^rules\.rego:\d+: /, ''));
  assert.ok(prints.includes('CreateSandboxRequest: input.guest_hook_path = '), prints.join('\n'));
  assert.ok(prints.includes('CreateSandboxRequest: input.kernel_modules = []'));
  assert.ok(
    prints.includes(
      'allow_sandbox_storages: i_storages = [{"driver": "ephemeral", "driver_options": [], "fs_group": null, ' +
        '"fstype": "tmpfs", "mount_point": "/run/kata-containers/sandbox/shm", "options": ["noexec", "nosuid", ' +
        '"nodev", "mode=1777", "size=67108864"], "source": "shm"}]',
    ),
  );
  e.setInput({ ...request, kernel_modules: [{ name: 'evil.ko' }] });
  assert.equal(e.evalRule('data.agent_policy.CreateSandboxRequest'), false);
  e.setInput({ ...request, storages: [{ ...shm, source: '/dev/sda' }] });
  assert.equal(e.evalRule('data.agent_policy.CreateSandboxRequest'), false);
});

test("genpolicy's rules.rego gives the verdicts of genpolicy's own test cases", { skip }, () => {
  const e = engine();
  const kinds: Record<string, string> = {
    copyfile: 'CopyFileRequest',
    updateinterface: 'UpdateInterfaceRequest',
    updateroutes: 'UpdateRoutesRequest',
    addarpneighbors: 'AddARPNeighborsRequest',
  };
  let n = 0;
  for (const [name, rule] of Object.entries(kinds)) {
    const file = join(dir, 'tests/policy/testdata', name, 'testcases.json');
    if (!existsSync(file)) continue;
    const cases = JSON.parse(readFileSync(file, 'utf8')) as {
      description: string;
      allowed: boolean;
      request: unknown;
    }[];
    for (const c of cases) {
      e.setInput(c.request);
      assert.equal(e.evalRule(`data.agent_policy.${rule}`), c.allowed, `${name}: ${c.description}`);
      n++;
    }
  }
  assert.ok(n > 20, `only ${n} cases found`);
});
