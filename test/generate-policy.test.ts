// The policies `contrast generate` writes, read back the way the agent gets them (from the YAML
// annotation: initdata for guest pull, the legacy annotation for host pull) and judged by our Rego
// engine with the agent's semantics: every workload of the example deployment, both flavours.
// Full request sequences for lab pods are covered by src/policy/lab-pod.test.ts; here we check what
// generate adds: the annotation decodes to a policy that compiles, carries one entry per container
// (injected ones included) pinned to the images in the YAML, and refuses what the pod never asked for.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { newSeedshareOwnerKey } from '../src/contrast/keys.js';
import { AgentSession, loadPolicy } from '../src/policyeval/index.js';
import { runCli } from './helpers/cli.js';
import {
  addAksToRelease,
  pushExampleImages,
  writeExampleRegistriesConf,
  writeLabRelease,
} from './helpers/generate-lab.js';
import { requireLab, type Lab } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';

const root = mkdtempSync(join(tmpdir(), 'generate-policy-'));
after(() => rmSync(root, { recursive: true, force: true }));
const NS = 'gen-test';
const seedKey = newSeedshareOwnerKey();

function prepare(l: Lab): string {
  pushExampleImages(l, NS);
  return writeExampleRegistriesConf(join(root, 'registries.conf'), l.a, NS);
}

type Obj = Record<string, unknown>;

function containersOf(yamlPath: string, name: string): Array<{ name: string; image: string }> {
  for (const d of parseAllDocuments(readFileSync(yamlPath, 'utf8'))) {
    const o = (d as { toJS(): unknown }).toJS() as {
      metadata?: { name?: string };
      spec?: {
        template?: {
          spec: {
            initContainers?: Array<{ name: string; image: string }>;
            containers: Array<{ name: string; image: string }>;
          };
        };
      };
    };
    if (o?.metadata?.name === name && o.spec?.template)
      return [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers];
  }
  throw new Error(`${name} not in ${yamlPath}`);
}

for (const [platform, flavour] of [
  ['Metal-QEMU-SNP', 'guest-pull'],
  ['AKS-CLH-SNP', 'host-pull'],
] as const) {
  test(`${flavour} (${platform}): generated policies load, pin every container and refuse foreign requests`, async (t) => {
    const l = requireLab(t);
    if (!l) return;
    const conf = prepare(l);
    const dir = join(root, flavour);
    // The 2025-line fixture release; for host pull one that (like the older lines) still ships AKS.
    const release = writeLabRelease(l, NS, '2025', join(root, `release-${flavour}`));
    if (flavour === 'host-pull') addAksToRelease(release);
    const deploy = join(dir, 'deploy');
    mkdirSync(deploy, { recursive: true });
    writeFileSync(join(dir, 'seedshare-owner.pem'), await seedKey, { mode: 0o600 }); // skip slow RSA keygen
    for (const f of readdirSync(join(repoRoot, 'examples')))
      if (f.endsWith('.yml')) copyFileSync(join(repoRoot, 'examples', f), join(deploy, f));
    const r = await runCli(
      [
        '--workspace-dir',
        dir,
        'generate',
        '--no-progress',
        '--contrast-release',
        release,
        '--reference-values',
        platform,
        '--registries-conf',
        conf,
        deploy,
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);

    for (const [file, workload, name] of [
      ['coordinator.yml', 'StatefulSet/coordinator', 'coordinator'],
      ['web.yml', 'Deployment/web', 'web'],
      ['api.yml', 'Deployment/api', 'api'],
    ] as const) {
      const path = join(deploy, file);
      const source = loadPolicy(path, { workload });
      const session = await AgentSession.create(source);
      assert.equal(session.allowFailures, false, `${name}: AllowRequestsFailingPolicy must be off`);

      // One policy entry per container of the pod (plus the pause container), images as in the YAML.
      const data = JSON.parse(
        source.text.slice(source.text.indexOf('policy_data := ') + 'policy_data := '.length),
      ) as {
        containers: Array<{
          OCI: { Annotations: Obj; Linux: { Devices: Obj[] } };
          storages?: Array<Obj>;
          image_guest_pull?: { reference: string; repository: string; digest: string };
          devices: Obj[];
        }>;
      };
      const names = data.containers.map(
        (c) => c.OCI.Annotations['io.kubernetes.cri.container-name'] ?? '(pause)',
      );
      const yamlContainers = containersOf(path, name);
      for (const c of yamlContainers)
        assert.ok(
          names.includes(c.name),
          `${name}: policy has container ${c.name} (has ${names.join(', ')})`,
        );
      if (flavour === 'guest-pull') {
        for (const c of yamlContainers) {
          const entry = data.containers.find(
            (x) => x.OCI.Annotations['io.kubernetes.cri.container-name'] === c.name,
          )!;
          // The pin our rules compare the runtime's image_guest_pull storage with (repo + digest).
          const pin = entry.image_guest_pull;
          assert.ok(pin, `${name}/${c.name}: guest-pull pin`);
          assert.equal(
            pin.digest,
            c.image.split('@')[1],
            `${name}/${c.name}: pulls exactly the pinned image`,
          );
        }
      }

      if (name === 'coordinator') {
        // The state device comes from the StatefulSet's volumeClaimTemplates (volumeDevices), as in Contrast.
        const coordinator = data.containers.find(
          (x) => x.OCI.Annotations['io.kubernetes.cri.container-name'] === 'coordinator',
        )!;
        assert.deepEqual(coordinator.devices, [{ container_path: '/dev/csi0' }], 'coordinator: state device');
        assert.deepEqual(
          coordinator.OCI.Linux.Devices,
          [{ Type: 'b', Path: '/dev/csi0' }],
          'coordinator: OCI device',
        );
      }

      const B = 'a'.repeat(64);
      const judge = (type: string, input: unknown): boolean => session.evaluate(type, input).allowed;
      assert.equal(
        judge('CopyFileRequest', {
          path: `/run/kata-containers/shared/containers/${B}-0123456789abcdef-resolv.conf`,
        }),
        true,
        `${name}: CopyFile of a shared file`,
      );
      assert.equal(
        judge('CopyFileRequest', {
          path: `/run/kata-containers/shared/containers/${B}-0123456789abcdef-../../../../etc/shadow`,
        }),
        false,
        `${name}: CopyFile with ..`,
      );
      assert.equal(
        judge('ExecProcessRequest', { container_id: B, exec_id: 'e1', process: { Args: ['/bin/sh'] } }),
        false,
        `${name}: exec of a shell`,
      );
      assert.equal(
        judge('SetPolicyRequest', { policy: 'package agent_policy\ndefault ExecProcessRequest := true' }),
        false,
        `${name}: policy swap`,
      );
      assert.equal(
        judge('CreateContainerRequest', {
          container_id: B,
          OCI: { Annotations: { 'io.kubernetes.cri.container-name': 'intruder' } },
        }),
        false,
        `${name}: unknown container`,
      );
    }
  });
}
