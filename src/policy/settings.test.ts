import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedPath } from '../../test/helpers/shared.js';
import { ContrastError } from '../internal/errors.js';
import { defaultSettingsPath, loadPolicySettings } from './index.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'settings-'));
}

const isErr = (re: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ContrastError, String(err));
  assert.match(err.message, re);
  return true;
};

test('our default settings load for both flavours and differ where the flavours differ', async () => {
  const host = await loadPolicySettings({ flavour: 'host-pull' });
  const guest = await loadPolicySettings({ flavour: 'guest-pull' });
  assert.equal(host.cluster_config.guest_pull, false);
  assert.equal(guest.cluster_config.guest_pull, true);
  assert.equal(host.common['root_path'], '$(cpath)/$(bundle-id)');
  assert.equal(guest.common['root_path'], '/run/kata-containers/$(bundle-id)/rootfs');
  await assert.rejects(
    loadPolicySettings({ flavour: 'nope' as 'host-pull' }),
    isErr(/unknown flavour "nope"/),
  );
});

test('-s replaces the settings file', async () => {
  const dir = await tmp();
  const s = JSON.parse(await readFile(defaultSettingsPath('host-pull'), 'utf8'));
  s.cluster_config.pause_container_image = 'registry.example/pause:9';
  await writeFile(join(dir, 's.json'), JSON.stringify(s));
  const loaded = await loadPolicySettings({ flavour: 'host-pull', settingsPath: join(dir, 's.json') });
  assert.equal(loaded.cluster_config.pause_container_image, 'registry.example/pause:9');
});

test('drop-in patches apply in file-name byte order', async () => {
  const dir = await tmp();
  await writeFile(
    join(dir, '2-second.json'),
    JSON.stringify([{ op: 'replace', path: '/cluster_config/pause_container_image', value: 'second' }]),
  );
  await writeFile(
    join(dir, '10-first.json'),
    JSON.stringify([
      { op: 'replace', path: '/cluster_config/pause_container_image', value: 'first' },
      { op: 'add', path: '/request_defaults/ExecProcessRequest/allowed_commands/-', value: ['/bin/true'] },
    ]),
  );
  await writeFile(join(dir, 'README.txt'), 'ignored');
  const s = await loadPolicySettings({ flavour: 'guest-pull', settingsDropInDir: dir });
  assert.equal(s.cluster_config.pause_container_image, 'second');
  assert.deepEqual(s.request_defaults.ExecProcessRequest.allowed_commands, [['/bin/true']]);
});

test('a genpolicy-style settings directory (genpolicy-settings.json + genpolicy-settings.d/)', async () => {
  const dir = await tmp();
  await writeFile(
    join(dir, 'genpolicy-settings.json'),
    await readFile(defaultSettingsPath('host-pull'), 'utf8'),
  );
  await mkdir(join(dir, 'genpolicy-settings.d'));
  await writeFile(
    join(dir, 'genpolicy-settings.d', '20-oci.json'),
    JSON.stringify([{ op: 'replace', path: '/kata_config/oci_version', value: '1.2.0' }]),
  );
  const s = await loadPolicySettings({ flavour: 'host-pull', settingsPath: dir });
  assert.equal(s.kata_config.oci_version, '1.2.0');
});

test('a patch that cannot be applied names the file, the operation and its path', async () => {
  const dir = await tmp();
  await writeFile(
    join(dir, '10-bad.json'),
    JSON.stringify([
      { op: 'add', path: '/common/x', value: 1 },
      { op: 'replace', path: '/no/such/key', value: 1 },
    ]),
  );
  await assert.rejects(
    loadPolicySettings({ flavour: 'host-pull', settingsDropInDir: dir }),
    isErr(/10-bad\.json: operation 1 \(path \/no\/such\/key\) cannot be applied/),
  );
  await writeFile(join(dir, '10-bad.json'), '{"op": "add"}');
  await assert.rejects(
    loadPolicySettings({ flavour: 'host-pull', settingsDropInDir: dir }),
    isErr(/must be a JSON array of RFC 6902 operations/),
  );
  await writeFile(join(dir, '10-bad.json'), '[{"op": "add", ');
  await assert.rejects(
    loadPolicySettings({ flavour: 'host-pull', settingsDropInDir: dir }),
    isErr(/10-bad\.json: settings patch is not valid JSON/),
  );
});

test('invalid settings are reported with the JSON pointer of the bad value', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      [{ op: 'replace', path: '/common/default_caps', value: 'CAP_CHOWN' }],
      /invalid settings at \/common\/default_caps: must be an array of strings/,
    ],
    [
      [{ op: 'replace', path: '/common/default_caps/3', value: 7 }],
      /invalid settings at \/common\/default_caps\/3: must be a string/,
    ],
    [
      [{ op: 'remove', path: '/cluster_config/pause_container_image' }],
      /invalid settings at \/cluster_config\/pause_container_image: missing/,
    ],
    [
      [{ op: 'add', path: '/request_defaults/CreateContainerRequest/allow_env_regex/-', value: '^FOO=(' }],
      /invalid settings at \/request_defaults\/CreateContainerRequest\/allow_env_regex\/9: not a valid regular expression/,
    ],
    [
      [{ op: 'add', path: '/request_defaults/ExecProcessRequest/commands', value: ['sh'] }],
      /\/request_defaults\/ExecProcessRequest\/commands: the legacy "commands" list is not supported/,
    ],
    [
      [{ op: 'replace', path: '/request_defaults/ExecProcessRequest/allowed_commands', value: ['sh -c x'] }],
      /\/request_defaults\/ExecProcessRequest\/allowed_commands\/0: must be an array of strings/,
    ],
    [
      [{ op: 'replace', path: '/other_container/Mounts/0/options', value: 'rw' }],
      /\/other_container\/Mounts\/0\/options: must be an array of strings/,
    ],
    [
      [{ op: 'replace', path: '/cluster_config/pause_container_id_policy', value: 'v3' }],
      /\/cluster_config\/pause_container_id_policy: must be "v1" or "v2"/,
    ],
  ];
  for (const [patch, re] of cases) {
    const dir = await tmp();
    await writeFile(join(dir, 'p.json'), JSON.stringify(patch));
    await assert.rejects(loadPolicySettings({ flavour: 'host-pull', settingsDropInDir: dir }), isErr(re));
  }
  const dir = await tmp();
  await writeFile(join(dir, 's.json'), '{"pause_container": 1');
  await assert.rejects(
    loadPolicySettings({ flavour: 'host-pull', settingsPath: join(dir, 's.json') }),
    isErr(/s\.json: settings is not valid JSON/),
  );
  await assert.rejects(
    loadPolicySettings({ flavour: 'host-pull', settingsPath: join(dir, 'missing.json') }),
    isErr(/missing\.json: cannot read settings: ENOENT/),
  );
});

// Item: genpolicy's own settings file (../shared/kata-genpolicy, from kata-containers
// src/tools/genpolicy/genpolicy-settings.json) is accepted as it is: mount sources it leaves out,
// no Root.Readonly for other containers, no pause_container_id_policy.
test('genpolicy-settings.json is accepted as it is; left-out fields get their defaults', async (t) => {
  const path = sharedPath(t, join('kata-genpolicy', 'genpolicy-settings.json'));
  if (!path) return;
  const s = await loadPolicySettings({ flavour: 'guest-pull', settingsPath: path });
  assert.equal(s.other_container.Root.Readonly, false);
  assert.equal(s.cluster_config.pause_container_id_policy, 'v1');
  assert.deepEqual(s.other_container.Linux.MaskedPaths, s.pause_container.Linux.MaskedPaths);
  assert.equal(
    s.other_container.Mounts.find((m) => m.destination === '/etc/hosts')!.source,
    undefined,
    'source left to the generator',
  );
});

test('a settings mount without source is fine, one with a non-string source is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'settings-'));
  try {
    const base = JSON.parse(readFileSync(defaultSettingsPath('guest-pull'), 'utf8')) as {
      other_container: { Mounts: Array<Record<string, unknown>> };
    };
    delete base.other_container.Mounts[0]!['source'];
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(base));
    const s = await loadPolicySettings({ flavour: 'guest-pull', settingsPath: join(dir, 'ok.json') });
    assert.equal(s.other_container.Mounts[0]!.source, undefined);
    base.other_container.Mounts[0]!['source'] = 7;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(base));
    await assert.rejects(
      loadPolicySettings({ flavour: 'guest-pull', settingsPath: join(dir, 'bad.json') }),
      /invalid settings at \/other_container\/Mounts\/0\/source: must be a string/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
