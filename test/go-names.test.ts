// Every name `contrast generate` writes into YAML that another program reads, checked against the
// spelling in the Contrast Go source (edgelesssys/contrast). One test per name, each citing where the
// name comes from, so a typo can never again leave pods unreachable (CONTRAST_DISABLE_SERVICE_MESH).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findWorkloads, parseKubeFile, serializeKubeFile } from '../src/kube/index.js';
import {
  ANNOTATION,
  DEBUG_SHELL_NAME,
  DISABLE_SERVICE_MESH_ENV,
  IMAGE_STORE_VOLUME,
  INITIALIZER_NAME,
  INJECTED_IMAGES,
  PVC_HOLDER_NAME,
  SECRETS_MOUNT,
  SECRETS_VOLUME,
  SERVICE_MESH_NAME,
  injectDebugShell,
  injectImageStore,
  injectInitializer,
  injectServiceMesh,
} from '../src/contrast/injections.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../src/policy/initdata.js';
import { VCPUS_ANNOTATION } from '../src/contrast/vcpus.js';
import {
  SNP_GUEST_POLICY_ANNOTATION,
  SNP_ID_AUTH_ANNOTATION,
  SNP_ID_BLOCK_ANNOTATION,
  SNP_PRODUCTS,
} from '../src/snp/annotations.js';

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    contrast.edgeless.systems/servicemesh-ingress: "web#8080#false"
    contrast.edgeless.systems/servicemesh-egress: "db#127.137.0.1:5432#db:5432"
    contrast.edgeless.systems/servicemesh-admin-interface-port: "9901"
spec:
  runtimeClassName: contrast-cc
  containers:
    - name: app
      image: r/app@sha256:${'a'.repeat(64)}
`;

function injected(text = POD): string {
  const file = parseKubeFile('p.yml', text);
  const [w] = findWorkloads([file]);
  injectDebugShell(w!);
  injectInitializer(w!, { coordinatorNamespace: 'ns1' });
  injectServiceMesh(w!);
  injectImageStore(w!);
  return serializeKubeFile(file);
}

describe('names from the Go source', () => {
  test('CONTRAST_SERVICE_MESH_DISABLED: internal/constants/constants.go DisableServiceMeshEnvVar', () => {
    // read by initializer/main.go: os.Getenv(constants.DisableServiceMeshEnvVar) != "" removes the
    // default-deny rule; set to "true" by kuberesource/mutators.go AddInitializer.
    assert.equal(DISABLE_SERVICE_MESH_ENV, 'CONTRAST_SERVICE_MESH_DISABLED');
    const plain = injected(POD.replace(/ {4}contrast\.edgeless\.systems\/servicemesh.*\n/g, ''));
    assert.match(plain, /- name: CONTRAST_SERVICE_MESH_DISABLED\n\s+value: "true"/);
  });
  test('COORDINATOR_HOST = coordinator-ready.<ns>: cli/cmd/generate.go injectInitializer, initializer/main.go', () => {
    assert.match(injected(), /- name: COORDINATOR_HOST\n\s+value: coordinator-ready\.ns1/);
  });
  test('CONTRAST_ADMIN_PORT and port name contrast-admin: kuberesource/mutators.go AddServiceMesh', () => {
    const out = injected();
    assert.match(out, /- name: CONTRAST_ADMIN_PORT\n\s+value: "9901"/);
    assert.match(out, /- name: contrast-admin\n\s+containerPort: 9901/);
  });
  test('CONTRAST_INGRESS_PROXY_CONFIG / CONTRAST_EGRESS_PROXY_CONFIG: kuberesource/mutators.go AddServiceMesh', () => {
    const out = injected();
    assert.match(out, /- name: CONTRAST_INGRESS_PROXY_CONFIG\n\s+value: web#8080#false/);
    assert.match(out, /- name: CONTRAST_EGRESS_PROXY_CONFIG\n\s+value: db#127\.137\.0\.1:5432#db:5432/);
  });
  test('CRYPTSETUP_DEVICE=/dev/csi0: kuberesource/mutators.go addCryptsetupConfig', () => {
    const sts = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    metadata:
      annotations: {contrast.edgeless.systems/secure-pv: "state:share"}
    spec:
      runtimeClassName: contrast-cc
      containers: [{name: db, image: "r/db@sha256:${'b'.repeat(64)}"}]
  volumeClaimTemplates: [{metadata: {name: state}}]
`;
    assert.match(injected(sts), /- name: CRYPTSETUP_DEVICE\n\s+value: \/dev\/csi0/);
  });
  test('annotation keys: kuberesource/mutators.go const block, cli/cmd/generate.go', () => {
    assert.deepEqual(ANNOTATION, {
      role: 'contrast.edgeless.systems/pod-role', // contrastRoleAnnotationKey
      skipInitializer: 'contrast.edgeless.systems/skip-initializer', // skipInitializerAnnotationKey
      securePV: 'contrast.edgeless.systems/secure-pv', // securePVAnnotationKey
      meshIngress: 'contrast.edgeless.systems/servicemesh-ingress', // smIngressConfigAnnotationKey
      meshEgress: 'contrast.edgeless.systems/servicemesh-egress', // smEgressConfigAnnotationKey
      meshAdminPort: 'contrast.edgeless.systems/servicemesh-admin-interface-port', // smAdminInterfaceAnnotationKey
      imageStoreSize: 'contrast.edgeless.systems/image-store-size', // imageStoreSizeAnnotationKey
      workloadSecretID: 'contrast.edgeless.systems/workload-secret-id', // workloadSecretIDAnnotationKey
    });
  });
  test('Kata annotations: internal/initdata InitdataAnnotationKey, genpolicy policy key, hypervisorCPUCountAnnotation', () => {
    assert.equal(INITDATA_ANNOTATION, 'io.katacontainers.config.hypervisor.cc_init_data');
    assert.equal(POLICY_ANNOTATION, 'io.katacontainers.config.agent.policy'); // cli/cmd/generate.go kataPolicyAnnotationKey (older)
    assert.equal(VCPUS_ANNOTATION, 'io.katacontainers.config.hypervisor.default_vcpus');
  });
  test('SNP ID-block annotations (2026): cli/cmd/generate.go idBlockAnnotation/idAuthAnnotationKey/guestPolicyAnnotationKey + product; node installer enables exactly these', () => {
    // edgelesssys/contrast cli/cmd/generate.go at 07b05e7ac7532980faf76be4ddf347da7145a17e:
    // kataAnnotationPrefix = "io.katacontainers.config.hypervisor.", + "snp_id_block_" / "snp_id_auth_" /
    // "snp_guest_policy_", the product from manifest.Genoa / manifest.Milan appended.
    assert.equal(SNP_ID_BLOCK_ANNOTATION, 'io.katacontainers.config.hypervisor.snp_id_block_');
    assert.equal(SNP_ID_AUTH_ANNOTATION, 'io.katacontainers.config.hypervisor.snp_id_auth_');
    assert.equal(SNP_GUEST_POLICY_ANNOTATION, 'io.katacontainers.config.hypervisor.snp_guest_policy_');
    assert.deepEqual([...SNP_PRODUCTS], ['Genoa', 'Milan']);
    // nodeinstaller/internal/kataconfig/config.go: enable_annotations gets annotationType + "_Milan"/"_Genoa"
    // for snp_id_block, snp_id_auth, snp_guest_policy (Kata matches them after the hypervisor prefix).
    const enabled = ['_Milan', '_Genoa'].flatMap((pl) =>
      ['snp_id_block', 'snp_id_auth', 'snp_guest_policy'].map(
        (t) => `io.katacontainers.config.hypervisor.${t}${pl}`,
      ),
    );
    const ours = SNP_PRODUCTS.flatMap((p) =>
      [SNP_ID_BLOCK_ANNOTATION, SNP_ID_AUTH_ANNOTATION, SNP_GUEST_POLICY_ANNOTATION].map((k) => k + p),
    );
    assert.deepEqual(ours.sort(), enabled.sort());
  });
  test('container names: kuberesource/parts.go Initializer, ServiceMeshProxy, DebugShell; mutators.go AddImageStore', () => {
    assert.equal(INITIALIZER_NAME, 'contrast-initializer');
    assert.equal(SERVICE_MESH_NAME, 'contrast-service-mesh');
    assert.equal(DEBUG_SHELL_NAME, 'contrast-debug-shell');
    assert.equal(PVC_HOLDER_NAME, 'pvc-holder');
    const out = injected();
    for (const n of [INITIALIZER_NAME, SERVICE_MESH_NAME, DEBUG_SHELL_NAME, PVC_HOLDER_NAME])
      assert.match(out, new RegExp(`- name: ${n}\\n`));
  });
  test('volumes: contrast-secrets at /contrast (parts.go), image-store at /dev/image_store (mutators.go AddImageStore)', () => {
    assert.equal(SECRETS_VOLUME, 'contrast-secrets');
    assert.equal(SECRETS_MOUNT, '/contrast');
    assert.equal(IMAGE_STORE_VOLUME, 'image-store');
    const out = injected();
    assert.match(out, /- name: contrast-secrets\n\s+emptyDir:\n\s+medium: Memory/);
    assert.match(out, /devicePath: \/dev\/image_store/);
  });
  test('images: parts.go and release.yml image-replacements keys (ghcr.io/edgelesssys/contrast/<name>:latest)', () => {
    assert.deepEqual(INJECTED_IMAGES, {
      initializer: 'ghcr.io/edgelesssys/contrast/initializer:latest',
      serviceMesh: 'ghcr.io/edgelesssys/contrast/service-mesh-proxy:latest',
      debugShell: 'ghcr.io/edgelesssys/contrast/debugshell:latest',
    });
  });
});
