import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContrastError } from '../internal/errors.js';
import { findWorkloads, parseKubeFile, serializeKubeFile } from '../kube/index.js';
import type { KubeFile } from '../kube/index.js';
import { GUEST_PAUSE, LAB_APP, RECORDED_PAUSE, imageMap } from '../../test/helpers/policy/fixtures.js';
import { criImageName, generatePolicies, loadPolicySettings, sandboxNameValue } from './index.js';
import type { Flavour, PolicyData } from './index.js';

const testdata = join(import.meta.dirname, 'testdata');
const APP = 'localhost:5000/test/app:v1';

function images(flavour: Flavour) {
  return flavour === 'host-pull'
    ? imageMap(['mcr.microsoft.com/oss/kubernetes/pause:3.6', RECORDED_PAUSE], [APP, LAB_APP])
    : imageMap(['ghcr.io/edgelesssys/kubernetes/pause:3.6', GUEST_PAUSE], [APP, LAB_APP]);
}

async function generate(text: string, flavour: Flavour, extra: KubeFile[] = []) {
  const f = parseKubeFile('input.yaml', text);
  const settings = await loadPolicySettings({ flavour });
  const ws = findWorkloads([f]);
  const policies = await generatePolicies([f], ws, images(flavour), settings, {
    flavour,
    configFiles: extra,
    rules: '# rules',
  });
  return { f, policies };
}

// Golden files: UPDATE_GOLDEN=1 rewrites them (review the diff before committing).
for (const flavour of ['host-pull', 'guest-pull'] as const) {
  test(`golden policy_data (${flavour})`, async () => {
    const { policies } = await generate(readFileSync(join(testdata, 'golden-pods.yaml'), 'utf8'), flavour);
    assert.deepEqual(
      policies.map((p) => `${p.workload.kind}/${p.workload.name}`),
      [
        'Deployment/web',
        'CronJob/nightly',
        'StatefulSet/db',
        'Pod/debug-',
        'DaemonSet/agent',
        'Job/migrate',
        'ReplicaSet/rs',
        'ReplicationController/rc',
      ],
    );
    const dir = join(testdata, 'golden', flavour);
    const expectedFiles = policies.map(
      (p) => `${p.workload.kind.toLowerCase()}-${p.workload.name.replace(/-$/, '')}.json`,
    );
    if (existsSync(dir) && process.env['UPDATE_GOLDEN'] !== '1') {
      // a golden file no workload produces any more is stale, not harmless
      assert.deepEqual(readdirSync(dir).sort(), [...expectedFiles].sort(), `golden files in ${dir}`);
    }
    for (const p of policies) {
      const file = join(dir, `${p.workload.kind.toLowerCase()}-${p.workload.name.replace(/-$/, '')}.json`);
      const actual = JSON.stringify(p.data, null, 2) + '\n';
      if (process.env['UPDATE_GOLDEN'] === '1') {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, actual);
      }
      // A missing golden file is a failure, never a fresh baseline: only UPDATE_GOLDEN=1 writes one.
      assert.ok(existsSync(file), `${file} is missing (UPDATE_GOLDEN=1 writes it; review before committing)`);
      assert.equal(actual, readFileSync(file, 'utf8'), `${file} differs (UPDATE_GOLDEN=1 to accept)`);
      // The policy text embeds exactly this data after the rules.
      assert.equal(p.policyText, `# rules\npolicy_data := ${JSON.stringify(p.data, null, 2)}`);
    }
  });
}

test('generation is deterministic', async () => {
  const text = readFileSync(join(testdata, 'golden-pods.yaml'), 'utf8');
  const a = await generate(text, 'guest-pull');
  const b = await generate(text, 'guest-pull');
  assert.deepEqual(
    a.policies.map((p) => p.hash),
    b.policies.map((p) => p.hash),
  );
});

test('key policy_data facts of the web Deployment', async () => {
  const { policies } = await generate(readFileSync(join(testdata, 'golden-pods.yaml'), 'utf8'), 'host-pull');
  const d: PolicyData = policies[0]!.data;
  const names = d.containers.map((c) => c.OCI.Annotations['io.kubernetes.cri.container-name'] ?? '(pause)');
  assert.deepEqual(names, ['(pause)', 'sidecar', 'init-second', 'init-first', 'app']);
  const app = d.containers[4]!;
  const env = app.OCI.Process.Env;
  assert.ok(env.includes('LOG_LEVEL=debug'), 'ConfigMap from the pod namespace, not default');
  assert.ok(
    env.includes('CFG_LOG_LEVEL=debug') && env.includes('CFG_mode=production'),
    'envFrom prefix honoured',
  );
  assert.ok(!env.some((e) => e.startsWith('CFG_bad-key!')), 'invalid env names skipped');
  assert.ok(
    env.includes('PASSWORD=s3cr3t') && env.includes('token=plain-token'),
    'Secret data decoded, stringData used',
  );
  assert.ok(env.includes('DATA_DIR=/srv/data'), '$(VAR) expansion');
  assert.ok(env.includes('POD_NAME=$(sandbox-name)') && env.includes('POD_IP=$(pod-ip)'));
  assert.ok(env.includes('URL=http://$(pod-ip):8080/a\\?b'), 'templates are regex-escaped');
  assert.ok(env.includes('TERM=xterm') && env.includes('HOSTNAME=$(host-name)'));
  assert.ok(!env.some((e) => e.startsWith('MAYBE=')), 'optional missing ref skipped');
  assert.deepEqual(app.OCI.Process.Args, [
    '/app/hello.sh',
    '--name',
    '$(sandbox-name)',
    '--ip=$(pod-ip)',
    '\\$\\(NOT_EXPANDED\\)',
    '\\$\\(UNDEFINED\\)',
    'a.b*c',
  ]);
  assert.equal(app.OCI.Process.Cwd, '/srv');
  assert.deepEqual(app.OCI.Process.User, {
    UID: 1001,
    GID: 2000,
    AdditionalGids: [29, 2000, 3000, 4000],
    Username: '',
  });
  assert.equal(app.OCI.Process.NoNewPrivileges, true);
  assert.equal(app.OCI.Root.Readonly, true);
  assert.ok(
    app.OCI.Process.Capabilities.Bounding.includes('CAP_NET_ADMIN') &&
      !app.OCI.Process.Capabilities.Bounding.includes('CAP_MKNOD'),
  );
  assert.deepEqual(app.exec_commands, [
    ['/app/healthy', '--live'],
    ['/app/healthy', '--startup'],
    ['/bin/sh', '-c', 'echo started'],
    ['/app/drain'],
  ]);
  assert.equal(app.sandbox_pidns, true);
  assert.equal(app.OCI.Annotations['io.kubernetes.cri.sandbox-name'], '^web-[a-z0-9]{1,10}-[a-z0-9]{5}$');
  assert.equal(app.OCI.Annotations['io.kubernetes.cri.sandbox-namespace'], 'shop');
  assert.equal(app.OCI.Annotations['example.com/owner'], 'team-a');
  assert.equal(
    app.OCI.Annotations['io.katacontainers.config.agent.policy'],
    undefined,
    'old policy not copied',
  );
  // containerd 2.x defaults from the settings, then the pod's (same key: the pod's value).
  assert.deepEqual(app.OCI.Linux.Sysctl, {
    'net.ipv4.ip_unprivileged_port_start': '0',
    'net.ipv4.ping_group_range': '0 2147483647',
  });
  assert.deepEqual(app.devices, [{ container_path: '/dev/xvdb' }]);
  const mount = (dest: string) => app.OCI.Mounts.find((m) => m.destination === dest);
  assert.deepEqual(mount('/var/log/host')?.options, ['rbind', 'rshared', 'rw']);
  assert.equal(mount('/dev/kmsg')?.source, '^/dev/kmsg$');
  assert.equal(mount('/var/termination')?.source, '$(sfprefix)termination-log$');
  assert.equal(mount('/dev/termination-log'), undefined);
  assert.ok(mount('/var/run/secrets/kubernetes.io/serviceaccount'));
  // host-pull: per-layer tar storages (top first) and the overlay with names and roots.
  const ov = app.storages.find((s) => s.fstype === 'fuse3.kata-overlay')!;
  assert.equal(ov.options[1], `${'2'.repeat(64)}:${'1'.repeat(64)}`);
  // Layer names computed outside the code under test, from the definition (docs/policy-generation.md
  // §4: chain[0] = diff_id[0], chain[i] = "sha256:" + hex(sha256(chain[i-1] + " " + diff_id[i])),
  // name = hex(sha256(chain id))) with coreutils:
  //   n0=$(printf %s "$d0" | sha256sum); c1="sha256:$(printf '%s %s' "$d0" "$d1" | sha256sum)";
  //   n1=$(printf %s "$c1" | sha256sum)
  assert.deepEqual(
    LAB_APP.layerAnalysis.map((l) => l.diffId),
    [
      'sha256:4744ddd62faa19759afbb04c92c5fb0858cdf7ff9b6b48b25ff7b0cd611d5a30',
      'sha256:132b2496efd4590e54f809cf9d1cf5a58b97f026677cc8ffacf8b087f02e96da',
    ],
  );
  assert.equal(
    ov.options[0],
    [
      'de488cd4865546ea2bef4ee928423d52668f6da46b002d6337202fecef9a1db0',
      'eea1bb77e8c42ff7eee8d16cd2d5f78f72072ffa1e0f64fe9667447a088f06f4',
    ].join(':'),
    'top layer first',
  );
  // Pause container
  const pause = d.containers[0]!;
  assert.deepEqual(pause.OCI.Process.User, {
    UID: 1001,
    GID: 0,
    AdditionalGids: [0, 29, 3000, 4000],
    Username: '',
  });
});

test('CronJob, StatefulSet and generateName get sandbox name regexes; hostNetwork drops the pause UTS namespace', async () => {
  const { policies } = await generate(readFileSync(join(testdata, 'golden-pods.yaml'), 'utf8'), 'guest-pull');
  const byName = new Map(policies.map((p) => [p.workload.name, p.data]));
  assert.equal(
    byName.get('nightly')!.containers[1]!.OCI.Annotations['io.kubernetes.cri.sandbox-name'],
    '^nightly-[0-9]+-([0-9]+-)?[a-z0-9]{5}$',
  );
  assert.equal(
    byName.get('nightly')!.containers[1]!.OCI.Annotations['io.kubernetes.cri.sandbox-namespace'],
    'batch.jobs',
  );
  assert.ok(
    !byName.get('nightly')!.containers[1]!.OCI.Mounts.some((m) => m.destination.includes('serviceaccount')),
    'automount off',
  );
  assert.equal(
    byName.get('db')!.containers[1]!.OCI.Annotations['io.kubernetes.cri.sandbox-name'],
    '^db-[0-9]+$',
  );
  const debug = byName.get('debug-')!;
  assert.equal(debug.containers[1]!.OCI.Annotations['io.kubernetes.cri.sandbox-name'], '^debug-[a-z0-9]+$');
  const sandboxName = (n: string) =>
    byName.get(n)!.containers[1]!.OCI.Annotations['io.kubernetes.cri.sandbox-name'];
  assert.equal(sandboxName('agent'), '^agent-[a-z0-9]{5}$');
  assert.equal(sandboxName('migrate'), '^migrate-([0-9]+-)?[a-z0-9]{5}$');
  assert.equal(sandboxName('rs'), '^rs-[a-z0-9]{5}$');
  assert.equal(sandboxName('rc'), '^rc-[a-z0-9]{5}$');
  assert.deepEqual(
    debug.containers[0]!.OCI.Linux.Namespaces.map((n) => n.Type),
    ['ipc', 'mount'],
  );
  const priv = debug.containers[1]!;
  assert.deepEqual(priv.OCI.Process.Capabilities.Bounding, ['$(privileged_caps)']);
  assert.deepEqual(priv.OCI.Linux.MaskedPaths, []);
  assert.ok(priv.OCI.Mounts.find((m) => m.destination === '/sys')!.options.includes('rw'));
  assert.deepEqual(debug.containers[2]!.OCI.Process.Capabilities.Bounding, ['CAP_NET_BIND_SERVICE']);
  // guest-pull: the image is pinned by repository and digest, not by a storage entry (genpolicy's
  // rules count storages without the request's image_guest_pull one).
  assert.deepEqual(priv.image_guest_pull, {
    reference: `${APP}@${LAB_APP.digest}`,
    repository: 'localhost:5000/test/app',
    digest: LAB_APP.digest,
  });
  assert.ok(!priv.storages.some((s) => s.driver === 'image_guest_pull'));
  assert.deepEqual(Object.keys(debug), [
    'containers',
    'common',
    'sandbox',
    'request_defaults',
    'cluster_config',
    'devices',
  ]);
});

test('the annotation is added to each pod template; nothing else in the file changes', async () => {
  const text = readFileSync(join(testdata, 'golden-pods.yaml'), 'utf8');
  const { f, policies } = await generate(text, 'host-pull');
  const out = serializeKubeFile(f);
  // web: the old value is replaced in place; CronJob, StatefulSet: metadata + annotations + key are
  // added; the generateName Pod: annotations + key. Every other line is kept, in order.
  const expectedBase = text
    .replace(
      'io.katacontainers.config.agent.policy: b2xk',
      `io.katacontainers.config.agent.policy: ${policies[0]!.annotationValue}`,
    )
    .split('\n');
  const outLines = out.split('\n');
  assert.equal(outLines.length, expectedBase.length + 8 + 4 * 3);
  let i = 0;
  for (const l of outLines) if (l === expectedBase[i]) i++;
  assert.equal(i, expectedBase.length, 'input lines are kept in order');
  for (const p of policies) assert.ok(out.includes(p.annotationValue));
});

test('helpers: image name heuristic and sandbox names', () => {
  assert.equal(criImageName('busybox'), 'busybox:latest');
  assert.equal(criImageName('localhost:5000/foo'), 'localhost:5000/foo');
  assert.equal(criImageName('a/b@sha256:00'), 'a/b@sha256:00');
  const w = { name: 'a.b', kind: 'ReplicaSet', generateName: false } as Parameters<
    typeof sandboxNameValue
  >[0];
  assert.equal(sandboxNameValue(w), '^a\\.b-[a-z0-9]{5}$');
});

function pod(spec: string, extra = ''): string {
  return `${extra}apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nspec:\n  runtimeClassName: contrast-cc\n${spec}`;
}

const bad: Array<[string, string, RegExp, string?]> = [
  [
    'missing ConfigMap',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      env: [{name: X, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    /ConfigMap "cfg" not found in namespace "ns1"/,
  ],
  [
    'ConfigMap only in another namespace',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      envFrom: [{configMapRef: {name: cfg}}]\n  volumes: [{name: d, emptyDir: {}}]\n',
      'kind: ConfigMap\nmetadata: {name: cfg, namespace: other}\ndata: {k: v}\n---\n',
    ),
    /ConfigMap "cfg" not found in namespace "ns1"/,
    'exists in namespace(s) "other"',
  ],
  [
    'missing key',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: nope}}}]\n  volumes: [{name: d, emptyDir: {}}]\n',
      'kind: Secret\nmetadata: {name: s, namespace: ns1}\ndata: {k: dg==}\n---\n',
    ),
    /key "nope" not found in Secret ns1\/s/,
  ],
  [
    'subPath',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data, subPath: x}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    /uses subPath/,
  ],
  [
    'unsupported volume type',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n  volumes: [{name: d, nfs: {server: x, path: /}}]\n',
    ),
    /volume "d" of type nfs is not supported/,
  ],
  [
    'unknown volume',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n',
    ),
    /unknown volume "d"/,
  ],
  [
    'volumeDevices naming a volume that does not exist',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      volumeDevices: [{name: disk, devicePath: /dev/csi0}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    /volumeDevices refers to unknown volume "disk"/,
    'must match a volume in spec.volumes (known: "d")',
  ],
  [
    'volumeDevices naming an emptyDir',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      volumeDevices: [{name: d, devicePath: /dev/csi0}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    /volumeDevices "d" at \/dev\/csi0: volume "d" is of type emptyDir; only a persistentVolumeClaim/,
  ],
  [
    'volumeDevices naming a Filesystem-mode ephemeral volume',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      volumeDevices: [{name: e, devicePath: /dev/csi0}]\n  volumes: [{name: d, emptyDir: {}}, {name: e, ephemeral: {volumeClaimTemplate: {spec: {resources: {requests: {storage: 1Gi}}}}}}]\n',
    ),
    /ephemeral volume "e" has volumeMode Filesystem \(the default\)/,
    'volumeMode: Block',
  ],
  [
    'unsupported fieldRef',
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      env: [{name: X, valueFrom: {fieldRef: {fieldPath: status.phase}}}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    /fieldRef "status.phase" is not supported/,
  ],
  [
    'user namespaces',
    pod(
      '  hostUsers: false\n  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    /hostUsers: false \(user namespaces\) is not supported/,
  ],
  [
    'image not analyzed',
    pod('  containers:\n    - name: c\n      image: other:1\n'),
    /image "other:1" was not analyzed/,
  ],
];

for (const [name, text, re, hint] of bad) {
  test(`bad input: ${name}`, async () => {
    await assert.rejects(generate(text, 'host-pull'), (err: unknown) => {
      assert.ok(err instanceof ContrastError, String(err));
      assert.match(err.message, re);
      assert.match(err.message, /input\.yaml: Pod ns1\/p/);
      if (hint) assert.ok(err.hint?.includes(hint), err.hint);
      return true;
    });
  });
}

test('a failing workload leaves every document unannotated', async () => {
  const text =
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ) +
    '---\n' +
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data, subPath: x}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ).replace('name: p,', 'name: q,');
  const f = parseKubeFile('input.yaml', text);
  const settings = await loadPolicySettings({ flavour: 'host-pull' });
  await assert.rejects(
    generatePolicies([f], findWorkloads([f]), images('host-pull'), settings, {
      flavour: 'host-pull',
      rules: '',
    }),
  );
  assert.equal(serializeKubeFile(f), text);
});

test('--config-file ConfigMaps are used', async () => {
  const cfg = parseKubeFile(
    'cfg.yaml',
    'kind: ConfigMap\nmetadata: {name: cfg, namespace: ns1}\ndata: {k: from-config-file}\n',
  );
  const { policies } = await generate(
    pod(
      '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n      env: [{name: X, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}]\n  volumes: [{name: d, emptyDir: {}}]\n',
    ),
    'host-pull',
    [cfg],
  );
  assert.ok(policies[0]!.data.containers[1]!.OCI.Process.Env.includes('X=from-config-file'));
});

test('image USER "user:group" sets the primary group as containerd does; an unknown group is an error', async () => {
  const settings = await loadPolicySettings({ flavour: 'guest-pull' });
  const yamlText = pod(
    '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n  volumes: [{name: d, emptyDir: {}}]\n',
  );
  const run = async (user: string) => {
    const img = structuredClone(LAB_APP);
    img.config.config = { ...img.config.config, User: user };
    const f = parseKubeFile('input.yaml', yamlText);
    const [p] = await generatePolicies(
      [f],
      findWorkloads([f]),
      imageMap(['ghcr.io/edgelesssys/kubernetes/pause:3.6', GUEST_PAUSE], [APP, img]),
      settings,
      { flavour: 'guest-pull', rules: '' },
    );
    return p!.data.containers[1]!.OCI.Process.User;
  };
  assert.deepEqual(await run('app:audio'), { UID: 1000, GID: 29, AdditionalGids: [29], Username: '' });
  assert.deepEqual(await run('app:4242'), { UID: 1000, GID: 4242, AdditionalGids: [29, 4242], Username: '' });
  await assert.rejects(run('app:nosuch'), /group "nosuch" is not in the image's \/etc\/group/);
});

function statefulSet(
  containerExtra: string,
  claimTemplates: string,
  volumes = '[{name: d, emptyDir: {}}]',
): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: coordinator, namespace: ns1}
spec:
  template:
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: c
          image: localhost:5000/test/app:v1
${containerExtra}
      volumes: ${volumes}
  volumeClaimTemplates:
${claimTemplates}
`;
}

const BLOCK_CLAIM = (name: string) =>
  `    - metadata: {name: ${name}}\n      spec: {volumeMode: Block, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}`;
const FS_CLAIM = (name: string) =>
  `    - metadata: {name: ${name}}\n      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}`;

for (const flavour of ['host-pull', 'guest-pull'] as const) {
  test(`${flavour}: StatefulSet volumeClaimTemplates: a block claim is a device, a file-system claim a PVC mount`, async () => {
    const { policies } = await generate(
      statefulSet(
        '          volumeMounts: [{name: d, mountPath: /data}, {name: state, mountPath: /var/lib/state}, {name: ro, mountPath: /srv/ro.d, readOnly: true}]\n          volumeDevices: [{name: state-device, devicePath: /dev/csi0}]',
        [BLOCK_CLAIM('state-device'), FS_CLAIM('state'), FS_CLAIM('ro')].join('\n'),
      ),
      flavour,
    );
    const c = policies[0]!.data.containers[1]!;
    // The shapes genpolicy gives PVC-backed volumes and volumeDevices.
    assert.deepEqual(c.devices, [{ container_path: '/dev/csi0' }]);
    assert.deepEqual(c.OCI.Linux.Devices, [{ Type: 'b', Path: '/dev/csi0' }]);
    const mount = (dest: string) => c.OCI.Mounts.find((m) => m.destination === dest);
    assert.deepEqual(mount('/var/lib/state'), {
      destination: '/var/lib/state',
      source: '$(sfprefix)state$',
      type_: 'bind',
      options: ['rbind', 'rprivate', 'rw'],
    });
    assert.deepEqual(mount('/srv/ro.d'), {
      destination: '/srv/ro.d',
      source: '$(sfprefix)ro\\.d$',
      type_: 'bind',
      options: ['rbind', 'rprivate', 'ro'],
    });
    assert.equal(mount('/dev/csi0'), undefined, 'a device is not a mount');
    // Like a persistentVolumeClaim volume: no storage of its own (only the image's and the emptyDir's).
    const withClaims = c.storages.length;
    const { policies: plain } = await generate(
      pod(
        '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}]\n  volumes: [{name: d, emptyDir: {}}]\n',
      ),
      flavour,
    );
    assert.equal(withClaims, plain[0]!.data.containers[1]!.storages.length);
    // Identical to what an explicit persistentVolumeClaim volume gives.
    const { policies: pvc } = await generate(
      pod(
        '  containers:\n    - name: c\n      image: localhost:5000/test/app:v1\n      volumeMounts: [{name: d, mountPath: /data}, {name: state, mountPath: /var/lib/state}]\n      volumeDevices: [{name: state-device, devicePath: /dev/csi0}]\n  volumes: [{name: d, emptyDir: {}}, {name: state, persistentVolumeClaim: {claimName: s}}, {name: state-device, persistentVolumeClaim: {claimName: b}}]\n',
      ),
      flavour,
    );
    const p = pvc[0]!.data.containers[1]!;
    assert.deepEqual(p.devices, c.devices);
    assert.deepEqual(p.OCI.Linux.Devices, c.OCI.Linux.Devices);
    assert.deepEqual(
      p.OCI.Mounts.find((m) => m.destination === '/var/lib/state'),
      mount('/var/lib/state'),
    );
  });
}

test('a claim template replaces a pod volume of the same name, as the StatefulSet controller does', async () => {
  const { policies } = await generate(
    statefulSet(
      '          volumeMounts: [{name: d, mountPath: /data}, {name: state, mountPath: /var/lib/state}]',
      FS_CLAIM('state'),
      '[{name: d, emptyDir: {}}, {name: state, emptyDir: {}}]',
    ),
    'guest-pull',
  );
  const m = policies[0]!.data.containers[1]!.OCI.Mounts.find((x) => x.destination === '/var/lib/state')!;
  assert.equal(m.source, '$(sfprefix)state$');
  assert.equal(m.type_, 'bind');
});

test('init containers and sidecars can use claim templates too (Contrast secure-pv Initializer)', async () => {
  const text = statefulSet(
    '          volumeMounts: [{name: d, mountPath: /data}]',
    BLOCK_CLAIM('state-device'),
  ).replace(
    '      containers:\n',
    '      initContainers:\n        - name: init\n          image: localhost:5000/test/app:v1\n          restartPolicy: Always\n          volumeMounts: [{name: d, mountPath: /data}]\n          volumeDevices: [{name: state-device, devicePath: /dev/csi0}]\n      containers:\n',
  );
  const { policies } = await generate(text, 'guest-pull');
  const init = policies[0]!.data.containers.find(
    (c) => c.OCI.Annotations['io.kubernetes.cri.container-name'] === 'init',
  )!;
  assert.deepEqual(init.devices, [{ container_path: '/dev/csi0' }]);
});

const badClaims: Array<[string, string, RegExp, string?]> = [
  [
    'a Filesystem claim template in volumeDevices',
    statefulSet(
      '          volumeMounts: [{name: d, mountPath: /data}]\n          volumeDevices: [{name: state, devicePath: /dev/csi0}]',
      FS_CLAIM('state'),
    ),
    /volumeDevices "state" at \/dev\/csi0: volumeClaimTemplates entry "state" has volumeMode Filesystem/,
    'volumeMode: Block',
  ],
  [
    'a Block claim template in volumeMounts',
    statefulSet(
      '          volumeMounts: [{name: d, mountPath: /data}, {name: state-device, mountPath: /state}]',
      BLOCK_CLAIM('state-device'),
    ),
    /volumeMount "state-device" at \/state: volumeClaimTemplates entry "state-device" has volumeMode: Block/,
    'volumeDevices',
  ],
  [
    'a device naming neither a volume nor a claim template',
    statefulSet(
      '          volumeMounts: [{name: d, mountPath: /data}]\n          volumeDevices: [{name: nope, devicePath: /dev/csi0}]',
      BLOCK_CLAIM('state-device'),
    ),
    /volumeDevices refers to unknown volume "nope"/,
    'spec.volumes or spec.volumeClaimTemplates (known: "d", "state-device")',
  ],
  [
    'a claim template without a name',
    statefulSet('          volumeMounts: [{name: d, mountPath: /data}]', '    - spec: {volumeMode: Block}'),
    /spec\.volumeClaimTemplates\[0\] has no metadata\.name/,
  ],
];

for (const [name, text, re, hint] of badClaims) {
  test(`bad StatefulSet input: ${name}`, async () => {
    await assert.rejects(generate(text, 'host-pull'), (err: unknown) => {
      assert.ok(err instanceof ContrastError, String(err));
      assert.match(err.message, re);
      assert.match(err.message, /input\.yaml: StatefulSet ns1\/coordinator/);
      if (hint) assert.ok(err.hint?.includes(hint), err.hint);
      return true;
    });
  });
}

test('volumeClaimTemplates outside a StatefulSet are not volumes', async () => {
  const text = statefulSet(
    '          volumeMounts: [{name: d, mountPath: /data}]\n          volumeDevices: [{name: state-device, devicePath: /dev/csi0}]',
    BLOCK_CLAIM('state-device'),
  ).replace('kind: StatefulSet', 'kind: Deployment');
  await assert.rejects(generate(text, 'host-pull'), /volumeDevices refers to unknown volume "state-device"/);
});

test('corrupt initdata annotations (decoded in the pool): the first workload in order fails, no stray rejection', async () => {
  const pod = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations:
    io.katacontainers.config.hypervisor.cc_init_data: bm90IGd6aXA=
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: c
      image: ${image}
`;
  const stray: unknown[] = [];
  const onStray = (err: unknown) => stray.push(err);
  process.on('unhandledRejection', onStray);
  try {
    await assert.rejects(
      generate(pod('a', APP) + '---\n' + pod('b', APP), 'guest-pull'),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'BAD_INITDATA');
        return true;
      },
    );
    // The first workload fails before its annotation is looked at: that error wins, and the second
    // workload's failed decode is not left unhandled.
    await assert.rejects(
      generate(pod('a', 'unknown.example/x:v1') + '---\n' + pod('b', APP), 'guest-pull'),
      (err: Error & { code?: string }) => {
        assert.notEqual(err.code, 'BAD_INITDATA');
        return true;
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stray, []);
  } finally {
    process.off('unhandledRejection', onStray);
  }
});
