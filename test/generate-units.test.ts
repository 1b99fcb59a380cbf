// Unit tests of the generate building blocks that need no registry: platforms, manifest format and
// validation, reference values, owner keys, injections (idempotence), verifiers, replacements,
// runtime classes, initdata digests.
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { findWorkloads, parseKubeFile, serializeKubeFile } from '../src/kube/index.js';
import {
  injectDebugShell,
  injectImageStore,
  injectInitializer,
  injectServiceMesh,
  workloadRole,
} from '../src/contrast/injections.js';
import { ignoredObjectAnnotations } from '../src/kube/pod.js';
import { applyImageReplacements, parseImageReplacements } from '../src/contrast/replacements.js';
import { pinContrastImages } from '../src/contrast/pin-images.js';
import { patchRuntimeClass } from '../src/contrast/runtime.js';
import { verifyAfter, verifyBefore } from '../src/contrast/verify.js';
import { podVCPUs, quantityMilli } from '../src/contrast/vcpus.js';
import { policyHash, withDebugEntry } from '../src/contrast/initdata.js';
import { decodeInitdata, INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../src/policy/initdata.js';
import {
  addSorted,
  newSeedshareOwnerKey,
  newWorkloadOwnerKey,
  parseSeedshareOwnerPubKey,
  seedshareOwnerPubKeyHex,
  workloadOwnerKeyDigest,
} from '../src/contrast/keys.js';
import {
  emptyManifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from '../src/contrast/manifest.js';
import { applyReferenceValuePatches, purgeEmptyReferenceValues } from '../src/contrast/patches.js';
import { parseRuntimeClass, platformByName, PLATFORMS } from '../src/contrast/platforms.js';
import {
  importReferenceValues,
  placeholderReferenceValues,
  validateReferenceValues,
} from '../src/contrast/referencevalues.js';
import { formatIssue } from '../src/contrast/validation.js';
import { ContrastError } from '../src/internal/errors.js';
import {
  findTargets,
  planPlatforms,
  policyEntries,
  startLayerWorkersEarly,
} from '../src/workflows/generate.js';
import { closeLayerWorkers, layerWorkerPool } from '../src/image/layer-workers.js';
import { coordinatorYaml } from './helpers/kube-fixtures.js';

const DIGEST = 'sha256:' + 'a'.repeat(64);

describe('platforms', () => {
  test('names are case-insensitive and unknown ones list the choices', () => {
    assert.equal(platformByName('metal-qemu-tdx').name, 'Metal-QEMU-TDX');
    assert.throws(() => platformByName('K3s'), /unknown platform "K3s"/);
  });
  test('runtime classes parse by longest platform prefix', () => {
    assert.equal(
      parseRuntimeClass('contrast-cc-metal-qemu-snp-gpu-1a2b3c4d')?.platform.name,
      'Metal-QEMU-SNP-GPU',
    );
    assert.deepEqual(
      {
        p: parseRuntimeClass('contrast-cc-metal-qemu-snp-1a2b3c4d')?.platform.name,
        h: parseRuntimeClass('contrast-cc-metal-qemu-snp-1a2b3c4d')?.hash,
      },
      { p: 'Metal-QEMU-SNP', h: '1a2b3c4d' },
    );
    assert.equal(parseRuntimeClass('contrast-cc'), undefined);
    assert.equal(parseRuntimeClass('kata-qemu'), undefined);
    assert.throws(() => parseRuntimeClass('contrast-cc-k3s-qemu-snp-1234'), /names no known platform/);
  });
  test('flavour and annotation per platform', () => {
    for (const p of PLATFORMS) {
      assert.equal(p.annotation, p.flavour === 'host-pull' ? POLICY_ANNOTATION : INITDATA_ANNOTATION);
    }
    assert.equal(platformByName('AKS-CLH-SNP').flavour, 'host-pull');
    assert.equal(platformByName('Metal-QEMU-TDX-GPU').referenceValues, 'tdx');
  });
});

describe('manifest.json', () => {
  test('serializes like Go: struct order, sorted map keys, null slices, escaped <>&, trailing newline', () => {
    const m = emptyManifest({});
    m.Policies = {
      ['b'.repeat(64)]: { SANs: ['web', '*'], WorkloadSecretID: 'apps/v1/Deployment/default/web' },
      ['a'.repeat(64)]: { SANs: ['coordinator', '*'], Role: 'coordinator' },
    };
    m.WorkloadOwnerKeyDigests = null;
    m.SeedshareOwnerPubKeys = [];
    m.ReferenceValues = { tdx: [{ Platform: '<&>' }] };
    const text = serializeManifest(m);
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(Object.keys(JSON.parse(text)), [
      'Policies',
      'ReferenceValues',
      'WorkloadOwnerKeyDigests',
      'SeedshareOwnerPubKeys',
    ]);
    assert.ok(text.indexOf('a'.repeat(64)) < text.indexOf('b'.repeat(64)));
    assert.match(text, /"WorkloadOwnerKeyDigests": null/);
    assert.match(text, /"SeedshareOwnerPubKeys": \[\]/);
    assert.match(text, /\\u003c\\u0026\\u003e/);
    assert.doesNotMatch(text, /"Role": ""/);
    assert.match(text, /\n {2}"Policies": \{\n {4}"a{64}": \{\n {6}"SANs": \[\n {8}"coordinator",/);
  });

  test('placeholders carry every field in Contrast order and validate as "expected missing" only', () => {
    for (const p of PLATFORMS) {
      const rv = placeholderReferenceValues(p);
      const issues = validateReferenceValues(rv);
      assert.ok(issues.length > 0, p.name);
      assert.ok(
        issues.every((i) => i.expectedMissing),
        `${p.name}: ${issues
          .filter((i) => !i.expectedMissing)
          .map(formatIssue)
          .join('; ')}`,
      );
    }
    const snp = JSON.parse(
      serializeManifest(emptyManifest(placeholderReferenceValues(platformByName('Metal-QEMU-SNP')))),
    );
    assert.deepEqual(Object.keys(snp.ReferenceValues), ['snp']);
    assert.deepEqual(
      snp.ReferenceValues.snp.map((s: { ProductName: string }) => s.ProductName),
      ['Milan', 'Genoa'],
    );
    assert.deepEqual(Object.keys(snp.ReferenceValues.snp[0]).slice(0, 4), [
      'Platform',
      'ProductName',
      'TrustedMeasurement',
      'MinimumTCB',
    ]);
    assert.equal(
      placeholderReferenceValues(platformByName('Metal-QEMU-TDX')).tdx?.[0]?.['Xfam'],
      'e702060000000000',
    );
  });

  test('validation errors are path-prefixed', () => {
    const rv = placeholderReferenceValues(platformByName('Metal-QEMU-SNP'));
    const snp0 = rv.snp![0]!;
    (snp0['GuestPolicy'] as Record<string, unknown>)['Debug'] = true;
    snp0['TrustedMeasurement'] = 'abcd';
    (snp0['MinimumTCB'] as Record<string, unknown>)['TEEVersion'] = 300;
    const issues = validateManifest({
      Policies: { nothex: { SANs: ['x'] }, ['c'.repeat(64)]: { SANs: ['y'], Role: 'boss' } },
      ReferenceValues: rv,
      WorkloadOwnerKeyDigests: ['12'],
      SeedshareOwnerPubKeys: ['zz'],
    }).map(formatIssue);
    const want = [
      /^Policies\["nothex"\]: policy hash must be 64 hex/,
      /^Policies\["c{64}"\]\.Role: unknown role "boss"/,
      /^ReferenceValues\.snp\[0\]\.GuestPolicy\.Debug: modifying this field is not permitted$/,
      /^ReferenceValues\.snp\[0\]\.TrustedMeasurement: expected 48 bytes/,
      /^ReferenceValues\.snp\[0\]\.MinimumTCB\.TEEVersion: value out of range for uint8/,
      /^ReferenceValues\.snp\[1\]\.MinimumTCB\.BootloaderVersion: field cannot be empty$/,
      /^WorkloadOwnerKeyDigests\[0\]: /,
      /^SeedshareOwnerPubKeys\[0\]: invalid seed share owner public key/,
    ];
    for (const re of want)
      assert.ok(
        issues.some((i) => re.test(i)),
        `missing ${re}: got\n${issues.join('\n')}`,
      );
    assert.throws(
      () => parseManifest('{"Policies": 3}', 'm.json'),
      /m\.json: invalid manifest:\n {2}Policies: expected an object/,
    );
    assert.throws(() => parseManifest('{', 'm.json'), /m\.json: not valid JSON/);
  });

  test('an empty reference value list is an error', () => {
    assert.ok(
      validateReferenceValues({}).some(
        (i) => !i.expectedMissing && /Is the chosen platform supported/.test(i.message),
      ),
    );
  });

  test('round trip: parse(serialize(m)) re-serializes byte-identical', () => {
    const m = emptyManifest(placeholderReferenceValues(platformByName('Metal-QEMU-TDX')));
    m.Policies = { ['d'.repeat(64)]: { SANs: ['c', '*'], Role: 'coordinator', WorkloadSecretID: 'x' } };
    const text = serializeManifest(m);
    assert.equal(serializeManifest(parseManifest(text, 'm').manifest), text);
  });
});

describe('reference values import and patches', () => {
  test("a release's handler map selects values and handler per platform; unknown fields are rejected", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rv-'));
    const snp = placeholderReferenceValues(platformByName('Metal-QEMU-SNP')).snp!.map((s) => ({
      ...s,
      TrustedMeasurement: 'ab'.repeat(48),
      MinimumTCB: { BootloaderVersion: 3, TEEVersion: 0, SNPVersion: 8, MicrocodeVersion: 115 },
    }));
    const file = join(dir, 'rv.json');
    await writeFile(file, JSON.stringify({ 'contrast-cc-metal-qemu-snp-1a2b3c4d': { snp } }));
    const imported = await importReferenceValues(file);
    assert.equal(imported.handlers.get('Metal-QEMU-SNP'), 'contrast-cc-metal-qemu-snp-1a2b3c4d');
    assert.deepEqual(validateReferenceValues(imported.byPlatform.get('Metal-QEMU-SNP')), []);
    await writeFile(
      file,
      JSON.stringify({ 'contrast-cc-metal-qemu-snp-1a2b3c4d': { snp: [{ ...snp[0], Typo: 1 }] } }),
    );
    await assert.rejects(importReferenceValues(file), /snp\[0\]\.Typo: unknown field/);
    await writeFile(file, JSON.stringify({ 'not-a-handler': { snp } }));
    await assert.rejects(importReferenceValues(file), /not a contrast-cc-<platform>-<hash> runtime handler/);
  });

  test('patches with a failing test op skip the set; purge drops sets that only miss values', () => {
    const rv = placeholderReferenceValues(platformByName('Metal-QEMU-SNP'));
    const patched = applyReferenceValuePatches(rv, [
      [
        { op: 'test', path: '/ProductName', value: 'Genoa' },
        { op: 'replace', path: '/TrustedMeasurement', value: 'cd'.repeat(48) },
        {
          op: 'replace',
          path: '/MinimumTCB',
          value: { BootloaderVersion: 1, TEEVersion: 1, SNPVersion: 1, MicrocodeVersion: 1 },
        },
      ],
    ]);
    assert.equal(patched.snp![0]!['TrustedMeasurement'], '');
    assert.equal(patched.snp![1]!['TrustedMeasurement'], 'cd'.repeat(48));
    const purged = purgeEmptyReferenceValues(patched);
    assert.deepEqual(
      purged.snp!.map((s) => s['ProductName']),
      ['Genoa'],
    );
  });
});

describe('owner keys', () => {
  test('workload owner: P-384 EC PRIVATE KEY, digest = sha256(PKIX DER) from private or public PEM', () => {
    const pem = newWorkloadOwnerKey();
    assert.match(pem, /^-----BEGIN EC PRIVATE KEY-----/);
    const pub = createPublicKey(pem);
    assert.equal(pub.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    const expected = createHash('sha256')
      .update(pub.export({ format: 'der', type: 'spki' }))
      .digest('hex');
    assert.equal(workloadOwnerKeyDigest(pem), expected);
    assert.equal(workloadOwnerKeyDigest(pub.export({ format: 'pem', type: 'spki' }).toString()), expected);
    assert.throws(
      () => workloadOwnerKeyDigest('garbage', 'k.pem'),
      /workload owner key k\.pem: no PEM block/,
    );
  });
  test('seed-share owner: RSA-4096 RSA PRIVATE KEY, recorded as hex PKCS#1', async () => {
    const pem = await newSeedshareOwnerKey();
    assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    const hex = seedshareOwnerPubKeyHex(pem);
    assert.equal(parseSeedshareOwnerPubKey(hex).asymmetricKeyDetails?.modulusLength, 4096);
    assert.throws(() => seedshareOwnerPubKeyHex(newWorkloadOwnerKey(), 'x'), /expected an RSA key/);
  });
  test('lists: no duplicates, sorted', () => {
    assert.deepEqual(addSorted(['b', 'a'], ['a', 'c']), ['a', 'b', 'c']);
    assert.deepEqual(addSorted(null, []), []);
  });
});

const COORDINATOR = coordinatorYaml('contrast', `ghcr.io/edgelesssys/contrast/coordinator:v1.0.0@${DIGEST}`);

const WEB = `# web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # keep me
spec:
  template:
    metadata:
      annotations:
        contrast.edgeless.systems/servicemesh-ingress: "web#8080#false"
        contrast.edgeless.systems/servicemesh-egress: "db#127.137.0.1:5432#db:5432"
        contrast.edgeless.systems/servicemesh-admin-interface-port: "9901"
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: 127.0.0.1:5000/test/app:v1@${DIGEST}
          volumeMounts:
            - name: cfg
              mountPath: /etc/app
      volumes:
        - name: cfg
          configMap:
            name: app-config
`;

function load(text: string, path = 'w.yml') {
  const file = parseKubeFile(path, text);
  return { file, workloads: findWorkloads([file]) };
}

function patchAll(text: string, opts: { debug?: boolean; store?: boolean } = {}): string {
  const { file, workloads } = load(text);
  for (const w of workloads) {
    if (opts.debug) injectDebugShell(w);
    injectInitializer(w, { coordinatorNamespace: 'contrast' });
    injectServiceMesh(w);
    if (opts.store) injectImageStore(w);
    patchRuntimeClass(w, {
      defaultHandler: 'contrast-cc-metal-qemu-snp-1a2b3c4d',
      handlerFor: (p) => `${p.handlerPrefix}-1a2b3c4d`,
    });
  }
  return serializeKubeFile(file);
}

describe('injections', () => {
  test('Initializer, mesh, image store and debug shell as documented; comments survive', () => {
    const out = patchAll(WEB, { debug: true, store: true });
    const { workloads } = load(out);
    const spec = (workloads[0]!.doc.toJS() as { spec: { template: { spec: Record<string, unknown> } } }).spec
      .template.spec as {
      initContainers: Array<Record<string, unknown>>;
      containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }>;
      volumes: Array<Record<string, unknown>>;
      runtimeClassName: string;
    };
    assert.deepEqual(
      spec.initContainers.map((c) => c['name']),
      ['pvc-holder', 'contrast-initializer', 'contrast-debug-shell', 'contrast-service-mesh'],
    );
    const init = spec.initContainers[1]!;
    assert.deepEqual(init['env'], [{ name: 'COORDINATOR_HOST', value: 'coordinator-ready.contrast' }]);
    assert.deepEqual(init['resources'], { limits: { memory: '50Mi' }, requests: { memory: '50Mi' } });
    const mesh = spec.initContainers[3]!;
    assert.equal(mesh['restartPolicy'], 'Always');
    assert.deepEqual(mesh['env'], [
      { name: 'CONTRAST_ADMIN_PORT', value: '9901' },
      { name: 'CONTRAST_INGRESS_PROXY_CONFIG', value: 'web#8080#false' },
      { name: 'CONTRAST_EGRESS_PROXY_CONFIG', value: 'db#127.137.0.1:5432#db:5432' },
    ]);
    assert.deepEqual(mesh['ports'], [{ name: 'contrast-admin', containerPort: 9901 }]);
    assert.ok(
      spec.containers[0]!.volumeMounts.some(
        (m) => m.name === 'contrast-secrets' && m.mountPath === '/contrast',
      ),
    );
    assert.deepEqual(
      spec.volumes.map((v) => v['name']),
      ['cfg', 'contrast-secrets', 'image-store'],
    );
    assert.equal(spec.runtimeClassName, 'contrast-cc-metal-qemu-snp-1a2b3c4d');
    assert.match(out, /^# web tier\n/);
    assert.match(out, /name: web # keep me/);
  });

  test('running the patchers twice changes nothing', () => {
    for (const opts of [{}, { debug: true }, { debug: true, store: true }]) {
      const once = patchAll(WEB, opts);
      assert.equal(patchAll(once, opts), once, JSON.stringify(opts));
    }
    const once = patchAll(COORDINATOR);
    assert.equal(patchAll(once), once);
  });

  test('the Coordinator gets no Initializer; pods without mesh annotations get the disable env', () => {
    const out = patchAll(COORDINATOR);
    assert.doesNotMatch(out, /contrast-initializer/);
    const plain = patchAll(WEB.replace(/ {8}contrast\.edgeless\.systems\/servicemesh.*\n/g, ''));
    // edgelesssys/contrast internal/constants/constants.go: DisableServiceMeshEnvVar; read by
    // initializer/main.go, which removes the default-deny rule only when it is set.
    assert.match(plain, /\n *- name: CONTRAST_SERVICE_MESH_DISABLED\n *value: "true"\n/);
    assert.doesNotMatch(plain, /contrast-service-mesh/);
  });

  test('a non-emptyDir contrast-secrets volume and malformed mesh annotations are errors naming the workload', () => {
    const bad = WEB.replace('name: cfg\n          configMap', 'name: contrast-secrets\n          configMap');
    assert.throws(
      () => patchAll(bad),
      /w\.yml: Deployment\/web: volume contrast-secrets has to be of type emptyDir/,
    );
    assert.throws(
      () => patchAll(WEB.replace('db#127.137.0.1:5432#db:5432', 'db:5432')),
      /w\.yml: Deployment\/web: annotation contrast\.edgeless\.systems\/servicemesh-egress: entry "db:5432" is malformed/,
    );
  });
});

describe('annotations are read from the pod template only', () => {
  // edgelesssys/contrast internal/kuberesource/mutators.go: AddInitializer/AddServiceMesh/AddImageStore
  // get the pod template's ObjectMeta from MapPodSpecWithMeta (PodSpecAccessor.GetObjectMeta);
  // cli/cmd/generate.go isCoordinator reads Spec.Template.Annotations.
  const onObject = WEB.replace(
    '  name: web # keep me\n',
    '  name: web # keep me\n  annotations:\n    contrast.edgeless.systems/servicemesh-egress: "db#127.137.0.1:5432#db:5432"\n    contrast.edgeless.systems/pod-role: coordinator\n    contrast.edgeless.systems/skip-initializer: "true"\n',
  )
    .replace(/ {8}contrast\.edgeless\.systems\/servicemesh.*\n/g, '')
    .replace('    metadata:\n      annotations:\n', '');
  test('service mesh, role and skip-initializer on the Deployment itself are ignored', () => {
    const out = patchAll(onObject);
    assert.doesNotMatch(out, /name: contrast-service-mesh/);
    assert.match(out, /name: contrast-initializer/);
    assert.match(out, /CONTRAST_SERVICE_MESH_DISABLED/);
    const w = load(onObject).workloads[0]!;
    assert.equal(workloadRole(w), '');
    assert.deepEqual(ignoredObjectAnnotations(w).sort(), [
      'contrast.edgeless.systems/pod-role',
      'contrast.edgeless.systems/servicemesh-egress',
      'contrast.edgeless.systems/skip-initializer',
    ]);
  });
});

describe('injection annotations', () => {
  const STS = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  template:
    metadata:
      annotations:
        contrast.edgeless.systems/secure-pv: "state:share"
        contrast.edgeless.systems/image-store-size: "20Gi"
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: db
          image: r/db:v1@${DIGEST}
          volumeMounts:
            - {name: share, mountPath: /var/lib/db}
  volumeClaimTemplates:
    - metadata: {name: state}
      spec: {volumeMode: Block, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;
  test('secure-pv: the Initializer opens the device and shares the mount; image-store size from the annotation', () => {
    const { file, workloads } = load(STS);
    const w = workloads[0]!;
    injectInitializer(w, { coordinatorNamespace: 'default' });
    injectImageStore(w);
    const spec = (
      load(serializeKubeFile(file)).workloads[0]!.doc.toJS() as {
        spec: { template: { spec: Record<string, unknown> } };
      }
    ).spec.template.spec as {
      initContainers: Array<Record<string, unknown>>;
      volumes: Array<Record<string, unknown>>;
    };
    const init = spec.initContainers.find((c) => c['name'] === 'contrast-initializer')!;
    assert.deepEqual(init['volumeDevices'], [{ name: 'state', devicePath: '/dev/csi0' }]);
    assert.ok(
      (init['env'] as Array<{ name: string; value: string }>).some(
        (e) => e.name === 'CRYPTSETUP_DEVICE' && e.value === '/dev/csi0',
      ),
    );
    assert.ok(
      (init['volumeMounts'] as Array<Record<string, string>>).some(
        (m) =>
          m['name'] === 'share' && m['mountPath'] === '/state' && m['mountPropagation'] === 'Bidirectional',
      ),
    );
    assert.equal(init['restartPolicy'], 'Always');
    assert.deepEqual((init['securityContext'] as Record<string, unknown>)['privileged'], true);
    assert.deepEqual(
      spec.volumes.find((v) => v['name'] === 'share'),
      { name: 'share', emptyDir: {} },
    );
    const store = spec.volumes.find((v) => v['name'] === 'image-store') as {
      ephemeral: { volumeClaimTemplate: { spec: { resources: { requests: { storage: string } } } } };
    };
    assert.equal(store.ephemeral.volumeClaimTemplate.spec.resources.requests.storage, '20Gi');
  });
  test('secure-pv naming no device, image-store-size "0", skip-initializer', () => {
    assert.throws(
      () =>
        injectInitializer(load(STS.replace('"state:share"', '"nodev:share"')).workloads[0]!, {
          coordinatorNamespace: 'x',
        }),
      /secure-pv: device "nodev" is neither/,
    );
    assert.equal(injectImageStore(load(STS.replace('"20Gi"', '"0"')).workloads[0]!), false);
    const skipped = load(
      STS.replace(
        'contrast.edgeless.systems/secure-pv: "state:share"',
        'contrast.edgeless.systems/skip-initializer: "true"',
      ),
    );
    assert.equal(injectInitializer(skipped.workloads[0]!, { coordinatorNamespace: 'x' }), false);
    assert.doesNotMatch(serializeKubeFile(skipped.file), /contrast-initializer/);
  });
});

describe('verifiers', () => {
  test('before: unpinned images, empty egress, bare contrast-cc without a platform', () => {
    const text = WEB.replace(`app:v1@${DIGEST}`, 'app:v1').replace('"db#127.137.0.1:5432#db:5432"', '""');
    const { workloads } = load(text);
    assert.throws(
      () => verifyBefore(workloads, { haveDefaultPlatform: false }),
      (err: Error) =>
        /w\.yml: Deployment\/web: container "web": ImageRefValid: image "127\.0\.0\.1:5000\/test\/app:v1" is not pinned by digest/.test(
          err.message,
        ) &&
        /w\.yml: Deployment\/web: ServiceMeshEgressNotEmpty: /.test(err.message) &&
        /w\.yml: Deployment\/web: RuntimeClassesExist: /.test(err.message),
    );
    // Contrast's own images are pinned later, so "before" lets them pass.
    assert.doesNotThrow(() =>
      verifyBefore(load(COORDINATOR.replace(`:v1.0.0@${DIGEST}`, ':latest')).workloads, {
        haveDefaultPlatform: true,
      }),
    );
  });

  test('after: shared-FS volumes and mixed Contrast versions', () => {
    const host = WEB.replace('configMap:\n            name: app-config', 'hostPath:\n            path: /etc');
    assert.throws(
      () => verifyAfter(load(host).workloads),
      /container "web": NoSharedFSMount: volume "cfg" \(mounted at \/etc\/app\) is of type hostPath/,
    );
    // A claim template used as a block device is fine; mounted as a file system it is named as such.
    const claim = COORDINATOR.replace(
      'spec:\n  template:',
      'spec:\n  volumeClaimTemplates:\n    - metadata:\n        name: state\n      spec:\n        volumeMode: Block\n  template:',
    );
    const asDevice = claim.replace(
      `@${DIGEST}\n`,
      `@${DIGEST}\n          volumeDevices:\n            - name: state\n              devicePath: /dev/csi0\n`,
    );
    assert.doesNotThrow(() => verifyAfter(load(asDevice).workloads));
    const asMount = claim.replace(
      `@${DIGEST}\n`,
      `@${DIGEST}\n          volumeMounts:\n            - name: state\n              mountPath: /state\n`,
    );
    assert.throws(
      () => verifyAfter(load(asMount).workloads),
      /container "coordinator": NoSharedFSMount: volume mount "state" \(at \/state\) mounts a volumeClaimTemplates claim/,
    );
    const a = load(patchAll(COORDINATOR), 'c.yml').workloads;
    const b = load(
      patchAll(WEB)
        .replace(
          'ghcr.io/edgelesssys/contrast/initializer:latest',
          `ghcr.io/edgelesssys/contrast/initializer:v0.9.0@${DIGEST}`,
        )
        .replace('ghcr.io/edgelesssys/contrast/service-mesh-proxy:latest', `x/mesh:v1.0.0@${DIGEST}`),
    ).workloads;
    assert.throws(
      () => verifyAfter([...a, ...b]),
      /container "contrast-initializer": VersionsMatch: .*has version v0\.9\.0 but c\.yml: StatefulSet\/coordinator container "coordinator" has v1\.0\.0/,
    );
  });
});

describe('image replacements and pinning', () => {
  test('file syntax: pairs, comments, blank lines; anything else names the line', () => {
    const r = parseImageReplacements('# c\n\nghcr.io/a:latest = reg/a:v1@sha256:00\nb=c\n');
    assert.deepEqual(
      [...r],
      [
        ['ghcr.io/a:latest', 'reg/a:v1@sha256:00'],
        ['b', 'c'],
      ],
    );
    assert.throws(
      () => parseImageReplacements('a b c', 'r.txt'),
      /r\.txt:1: "a b c" is not an image=replacement line/,
    );
  });
  test('exact match on containers and init containers', () => {
    const { workloads } = load(patchAll(WEB));
    const n = applyImageReplacements(
      workloads[0]!,
      new Map([['ghcr.io/edgelesssys/contrast/initializer:latest', `mirror/init:v1@${DIGEST}`]]),
    );
    assert.equal(n, 1);
    assert.match(serializeKubeFile(workloads[0]!.file), new RegExp(`image: mirror/init:v1@${DIGEST}`));
  });
  test('unpinned injected images are pinned through the resolver; failures say how to mirror', async () => {
    const { file, workloads } = load(patchAll(WEB));
    const seen: string[] = [];
    const pins = await pinContrastImages(workloads, {
      resolveImage: async (ref: string) => {
        seen.push(ref);
        return { digest: 'sha256:' + 'b'.repeat(64), indexDigest: 'sha256:' + 'c'.repeat(64) };
      },
    });
    assert.deepEqual(seen.sort(), [
      'ghcr.io/edgelesssys/contrast/initializer:latest',
      'ghcr.io/edgelesssys/contrast/service-mesh-proxy:latest',
    ]);
    assert.equal(pins.length, 2);
    assert.match(serializeKubeFile(file), /initializer:latest@sha256:c{64}/);
    await assert.rejects(
      pinContrastImages(load(patchAll(WEB)).workloads, {
        resolveImage: async () => {
          throw new Error('connection refused');
        },
      }),
      (err: Error & { hint?: string }) =>
        /cannot pin Contrast image ghcr\.io\/edgelesssys\/contrast\/initializer:latest \(used by w\.yml: Deployment\/web container "contrast-initializer"\): connection refused/.test(
          err.message,
        ) && /--image-replacements/.test(err.hint ?? ''),
    );
  });
});

describe('initdata digest', () => {
  const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"policy.rego" = "package agent_policy"\n';
  const value = gzipSync(toml).toString('base64');
  test('the manifest key is the digest of the decompressed TOML; legacy = sha256 of the policy text', () => {
    assert.equal(policyHash(INITDATA_ANNOTATION, value), createHash('sha256').update(toml).digest('hex'));
    const legacy = Buffer.from('package agent_policy\n').toString('base64');
    assert.equal(
      policyHash(POLICY_ANNOTATION, legacy),
      createHash('sha256').update('package agent_policy\n').digest('hex'),
    );
  });
  test('the debug flag adds contrast.insecure-debug and changes the digest; without it the entry goes', () => {
    const next = withDebugEntry(value, true);
    assert.deepEqual(decodeInitdata(next).data, {
      'policy.rego': 'package agent_policy',
      'contrast.insecure-debug': 'true',
    });
    assert.notEqual(policyHash(INITDATA_ANNOTATION, next), policyHash(INITDATA_ANNOTATION, value));
    assert.equal(withDebugEntry(next, true), next);
    assert.deepEqual(decodeInitdata(withDebugEntry(next, false)).data, {
      'policy.rego': 'package agent_policy',
    });
    assert.equal(withDebugEntry(value, false), value);
  });
});

describe('SNP vCPUs (§4.5)', () => {
  type Res = { requests?: { cpu?: string | number }; limits?: { cpu?: string | number } };
  type C = { resources?: Res; restartPolicy?: string };
  function pod(spec: { containers?: C[]; initContainers?: C[]; resources?: Res }): string {
    const named = (list: C[] | undefined, prefix: string) =>
      list?.map((c, i) => ({ name: `${prefix}${i}`, image: `reg.example/${prefix}@${DIGEST}`, ...c }));
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        runtimeClassName: 'contrast-cc',
        ...(spec.initContainers ? { initContainers: named(spec.initContainers, 'i') } : {}),
        containers: named(spec.containers ?? [{}], 'c'),
        ...(spec.resources ? { resources: spec.resources } : {}),
      },
    };
    return JSON.stringify(body);
  }
  const vcpus = (text: string) => podVCPUs(load(text).workloads[0]!);
  const cpu = (requests?: string | number, limits?: string | number): C => ({
    resources: {
      ...(requests !== undefined ? { requests: { cpu: requests } } : {}),
      ...(limits !== undefined ? { limits: { cpu: limits } } : {}),
    },
  });

  test('quantities in milliCPU, rounded up', () => {
    const table: Array<[string | number, number]> = [
      ['500m', 500],
      ['2', 2000],
      ['1.5', 1500],
      ['0.25', 250],
      [0.5, 500],
      [3, 3000],
      ['0.0001', 1],
      ['1500000n', 2],
      ['1e3', 1_000_000],
      ['2k', 2_000_000],
      ['1Ki', 1_024_000],
      ['.5', 500],
    ];
    for (const [q, want] of table) assert.equal(quantityMilli(q), want, String(q));
    for (const bad of ['', 'one', '1 cpu', '1.2.3', '5mi']) assert.equal(quantityMilli(bad), undefined, bad);
  });

  test('formula: ceil(max(regular + sidecars, init, pod) / 1000) + 1, each max(request, limit)', () => {
    const table: Array<[string, Parameters<typeof pod>[0], number]> = [
      ['no resources', {}, 1],
      ['requests only', { containers: [cpu('500m'), cpu('1')] }, 3],
      ['limits > requests', { containers: [cpu('500m', '2')] }, 3],
      ['requests > limits still counts the larger', { containers: [cpu('3', '1')] }, 4],
      ['millis round up to whole vCPUs', { containers: [cpu('1001m')] }, 3],
      ['exactly one CPU', { containers: [cpu('1000m')] }, 2],
      ['sum of fractions', { containers: [cpu('0.25'), cpu('0.25'), cpu('0.5')] }, 2],
      [
        'init containers larger than regular (run one after another: max, not sum)',
        { containers: [cpu('1')], initContainers: [cpu('3'), cpu('1')] },
        5,
      ],
      [
        'sidecars add to the regular sum',
        { containers: [cpu('1')], initContainers: [{ ...cpu('1500m'), restartPolicy: 'Always' }] },
        4,
      ],
      [
        'sidecars also count in the init sum (Contrast sums every init container)',
        {
          containers: [cpu('100m')],
          initContainers: [{ ...cpu('1'), restartPolicy: 'Always' }, cpu('2')],
        },
        4,
      ],
      [
        'pod-level resources win when larger',
        { containers: [cpu('1')], resources: { limits: { cpu: '4' } } },
        5,
      ],
      [
        'pod-level smaller than containers',
        { containers: [cpu('3')], resources: { requests: { cpu: '1' } } },
        4,
      ],
    ];
    for (const [name, spec, want] of table) assert.equal(vcpus(pod(spec)), want, name);
  });

  test('injected containers count (memory only: 0 CPU); a bad quantity names the container', () => {
    const text = pod({ containers: [cpu('1')] });
    const { workloads } = load(text);
    injectInitializer(workloads[0]!, { coordinatorNamespace: 'default' });
    assert.equal(podVCPUs(workloads[0]!), 2);
    assert.throws(
      () => vcpus(pod({ containers: [cpu('lots')] })),
      (e: unknown) => e instanceof Error && /container "c0".*requests\.cpu "lots"/.test(e.message),
    );
  });
});

describe('generate stages on their own (src/workflows/generate.ts)', () => {
  const pod = (name: string, extra = '') =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}${extra}}\nspec:\n  runtimeClassName: contrast-cc-metal-qemu-snp\n  containers: [{name: c, image: "reg.example/app@${DIGEST}"}]\n`;

  test('findTargets: only contrast-cc pods; near misses are warned; none at all is NO_TARGETS', () => {
    const file = parseKubeFile(
      'a.yml',
      `${pod('web')}---\n${pod('other').replace('contrast-cc-metal-qemu-snp', 'kata-qemu')}---\n${pod('typo').replace('contrast-cc-metal-qemu-snp', 'contast-cc')}`,
    );
    const warnings: string[] = [];
    const t = findTargets([file], (m) => warnings.push(m));
    assert.deepEqual(
      t.workloads.map((w) => w.name),
      ['web'],
    );
    assert.deepEqual(t.kept, [file]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /typo/);
    assert.throws(
      () =>
        findTargets(
          [parseKubeFile('b.yml', pod('x').replace('contrast-cc-metal-qemu-snp', 'runc'))],
          () => {},
        ),
      (e: ContrastError) => e.code === 'NO_TARGETS',
    );
  });

  test('policyEntries: the same policy with other SANs keeps the first (warning); with the same SANs it is an error', () => {
    const [a, b] = findWorkloads([parseKubeFile('a.yml', `${pod('a')}---\n${pod('b')}`)]);
    const warnings: string[] = [];
    const { map, owner } = policyEntries(
      [a!, b!],
      new Map([
        [a!, 'h1'],
        [b!, 'h1'],
      ]),
      (m) => warnings.push(m),
    );
    assert.deepEqual(Object.keys(map), ['h1']);
    assert.deepEqual(map['h1']!.SANs, ['a', '*']);
    assert.equal(map['h1']!.WorkloadSecretID, 'core/v1/Pod/default/a');
    assert.equal(owner.get('h1'), a);
    assert.match(warnings[0]!, /a\.yml: Pod\/b: same policy as a\.yml: Pod\/a/);
    const twice = findWorkloads([parseKubeFile('t.yml', `${pod('a')}---\n${pod('a')}`)]);
    assert.throws(
      () => policyEntries(twice, new Map(twice.map((w) => [w, 'h2'])), () => {}),
      (e: ContrastError) => e.code === 'POLICY_COLLISION',
    );
    assert.throws(
      () => policyEntries([a!], new Map(), () => {}),
      (e: ContrastError) => e.code === 'NO_POLICY',
    );
  });

  test('planPlatforms: release-less, a GPU pod keeps the platform its class names (the switch needs a release that ships the GPU runtime)', () => {
    const gpuPod = pod('g').replace('image: "', 'resources: {limits: {nvidia.com/gpu: 1}}, image: "');
    const [w] = findWorkloads([parseKubeFile('g.yml', gpuPod)]);
    const noRelease = planPlatforms([w!], undefined, undefined);
    assert.equal(noRelease.platformFor(w!)?.name, 'Metal-QEMU-SNP');
    assert.deepEqual(
      noRelease.platforms.map((p) => p.name),
      ['Metal-QEMU-SNP'],
    );
  });
});

test('generate starts a layer worker before it reads its YAML when there is no layer cache, and none when there is one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'early-workers-'));
  t.after(() => closeLayerWorkers());
  const cachePath = join(dir, 'layers-cache.json');
  await closeLayerWorkers();
  startLayerWorkersEarly(cachePath);
  assert.equal(layerWorkerPool.keys().length, 1);
  await closeLayerWorkers();
  startLayerWorkersEarly('');
  assert.equal(layerWorkerPool.keys().length, 1, 'no cache at all (--no-cache)');
  await closeLayerWorkers();
  await writeFile(cachePath, '{}');
  startLayerWorkersEarly(cachePath);
  assert.equal(layerWorkerPool.keys().length, 0);
});
