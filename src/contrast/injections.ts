// The containers `contrast generate` injects into confidential pods (contrast-generate.md §4): the
// Initializer (fetches the workload's certificates from the Coordinator), the service-mesh proxy,
// the image-store PVC holder and the debug shell. Each is an upsert, so a second run is a no-op.
import { ContrastError } from '../internal/errors.js';
import {
  containers,
  describe,
  ensureVolume,
  getJS,
  podSpecPath,
  templateAnnotations,
  upsertInitContainer,
  upsertMount,
  workloadAnnotations,
} from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';
import { isMap, isSeq } from 'yaml';

export const ANNOTATION = {
  role: 'contrast.edgeless.systems/pod-role',
  skipInitializer: 'contrast.edgeless.systems/skip-initializer',
  securePV: 'contrast.edgeless.systems/secure-pv',
  meshIngress: 'contrast.edgeless.systems/servicemesh-ingress',
  meshEgress: 'contrast.edgeless.systems/servicemesh-egress',
  meshAdminPort: 'contrast.edgeless.systems/servicemesh-admin-interface-port',
  imageStoreSize: 'contrast.edgeless.systems/image-store-size',
  workloadSecretID: 'contrast.edgeless.systems/workload-secret-id',
} as const;

/**
 * Contrast's own images (`ghcr.io/edgelesssys/contrast/<name>:latest` in Contrast's YAML and parts.go);
 * the release's replacements pin them, or generate resolves them (pin-images.ts). The one definition.
 */
export const CONTRAST_IMAGE_PREFIX = 'ghcr.io/edgelesssys/contrast/';

/** Images as Contrast writes them before release replacements pin them. */
export const INJECTED_IMAGES = {
  initializer: `${CONTRAST_IMAGE_PREFIX}initializer:latest`,
  serviceMesh: `${CONTRAST_IMAGE_PREFIX}service-mesh-proxy:latest`,
  debugShell: `${CONTRAST_IMAGE_PREFIX}debugshell:latest`,
} as const;

export const INITIALIZER_NAME = 'contrast-initializer';
export const SERVICE_MESH_NAME = 'contrast-service-mesh';
export const DEBUG_SHELL_NAME = 'contrast-debug-shell';
export const PVC_HOLDER_NAME = 'pvc-holder';
export const SECRETS_VOLUME = 'contrast-secrets';
export const SECRETS_MOUNT = '/contrast';
export const IMAGE_STORE_VOLUME = 'image-store';
/** Set on the Initializer when the pod has no service mesh: it then removes its default-deny iptables rule. */
export const DISABLE_SERVICE_MESH_ENV = 'CONTRAST_SERVICE_MESH_DISABLED';

/** `contrast.edgeless.systems/pod-role` of the pod template, '' when absent. */
export function workloadRole(w: Workload): string {
  return templateAnnotations(w)[ANNOTATION.role] ?? '';
}

export function isCoordinator(w: Workload): boolean {
  return workloadRole(w) === 'coordinator';
}

export function hasServiceMeshAnnotations(w: Workload): boolean {
  const a = workloadAnnotations(w);
  return ANNOTATION.meshIngress in a || ANNOTATION.meshEgress in a || ANNOTATION.meshAdminPort in a;
}

function memory(mi: number): Record<string, unknown> {
  return { limits: { memory: `${mi}Mi` }, requests: { memory: `${mi}Mi` } };
}

function fail(w: Workload, message: string, hint?: string): never {
  throw new ContrastError(`${describe(w)}: ${message}`, { code: 'INJECTION', ...(hint ? { hint } : {}) });
}

function ensureSecretsVolume(w: Workload): void {
  const problem = ensureVolume(w, { name: SECRETS_VOLUME, emptyDir: { medium: 'Memory' } }, (existing) =>
    existing['emptyDir'] === undefined ? `volume ${SECRETS_VOLUME} has to be of type emptyDir` : undefined,
  );
  if (problem) fail(w, problem, `rename your volume; ${SECRETS_VOLUME} is reserved for Contrast`);
}

function mountSecretsEverywhere(w: Workload): void {
  for (const c of containers(w)) upsertMount(w, c.node, { name: SECRETS_VOLUME, mountPath: SECRETS_MOUNT });
}

interface SecurePV {
  device: string;
  mount: string;
}

function parseSecurePV(w: Workload): SecurePV | undefined {
  const v = workloadAnnotations(w)[ANNOTATION.securePV];
  if (v === undefined) return undefined;
  const m = /^([^:]+):([^:]+)$/.exec(v);
  if (!m) fail(w, `annotation ${ANNOTATION.securePV}="${v}": expected "<device volume>:<mount volume>"`);
  const device = m[1]!;
  const spec = podSpecPath(w)!;
  const volumes = (getJS(w.doc, [...spec, 'volumes']) as Array<Record<string, unknown>> | undefined) ?? [];
  const claimTemplates =
    w.kind === 'StatefulSet'
      ? ((getJS(w.doc, [...w.resourcePath, 'spec', 'volumeClaimTemplates']) as
          Array<{ metadata?: { name?: string } }> | undefined) ?? [])
      : [];
  const isDevice =
    volumes.some(
      (vol) =>
        vol['name'] === device && (vol['persistentVolumeClaim'] !== undefined || vol['iscsi'] !== undefined),
    ) || claimTemplates.some((t) => t.metadata?.name === device);
  if (!isDevice) {
    fail(
      w,
      `annotation ${ANNOTATION.securePV}: device "${device}" is neither a persistentVolumeClaim/iscsi volume nor a volume claim template`,
    );
  }
  return { device, mount: m[2]! };
}

export interface InitializerOptions {
  image?: string;
  /** Namespace of the Coordinator StatefulSet (the Initializer dials coordinator-ready.<ns>). */
  coordinatorNamespace: string;
}

/** Adds the Initializer as first init container, the shared secrets volume and its mount everywhere. */
export function injectInitializer(w: Workload, options: InitializerOptions): boolean {
  if (isCoordinator(w) || workloadAnnotations(w)[ANNOTATION.skipInitializer] === 'true') return false;
  const env: Array<{ name: string; value: string }> = [
    { name: 'COORDINATOR_HOST', value: `coordinator-ready.${options.coordinatorNamespace || 'default'}` },
  ];
  if (!hasServiceMeshAnnotations(w)) env.push({ name: DISABLE_SERVICE_MESH_ENV, value: 'true' });
  const securePV = parseSecurePV(w);
  const container: Record<string, unknown> = {
    name: INITIALIZER_NAME,
    image: options.image ?? INJECTED_IMAGES.initializer,
    env,
    resources: memory(50),
    securityContext: { capabilities: { add: ['NET_ADMIN'] } },
    volumeMounts: [{ name: SECRETS_VOLUME, mountPath: SECRETS_MOUNT }],
  };
  if (securePV) {
    env.push({ name: 'CRYPTSETUP_DEVICE', value: '/dev/csi0' });
    container['resources'] = memory(100);
    container['securityContext'] = { privileged: true, capabilities: { add: ['NET_ADMIN'] } };
    container['volumeDevices'] = [{ name: securePV.device, devicePath: '/dev/csi0' }];
    (container['volumeMounts'] as unknown[]).push({
      name: securePV.mount,
      mountPath: '/state',
      mountPropagation: 'Bidirectional',
    });
    container['startupProbe'] = {
      exec: { command: ['/bin/test', '-f', '/done'] },
      periodSeconds: 5,
      failureThreshold: 20,
    };
    container['restartPolicy'] = 'Always';
    const problem = ensureVolume(w, { name: securePV.mount, emptyDir: {} }, (existing) =>
      existing['emptyDir'] === undefined
        ? `secure-pv mount volume ${securePV.mount} has to be of type emptyDir`
        : undefined,
    );
    if (problem) fail(w, problem);
  }
  upsertInitContainer(w, container, 'first');
  ensureSecretsVolume(w);
  mountSecretsEverywhere(w);
  return true;
}

const INGRESS_ENTRY = /^[^#]+#\d{1,5}#(true|false)$/;
const EGRESS_ENTRY = /^[^#]+#127(\.\d{1,3}){3}:\d{1,5}#[^#:]+:\d{1,5}$/;

function checkMeshConfig(w: Workload, key: string, value: string, entry: RegExp, example: string): void {
  if (value === '' || (key === ANNOTATION.meshIngress && value === 'DISABLED')) return;
  for (const part of value.split('##')) {
    if (!entry.test(part))
      fail(w, `annotation ${key}: entry "${part}" is malformed`, `expected ${example}, entries joined by ##`);
  }
}

/** Appends the service-mesh proxy sidecar when a service-mesh annotation is present. */
export function injectServiceMesh(w: Workload, options: { image?: string } = {}): boolean {
  if (isCoordinator(w) || !hasServiceMeshAnnotations(w)) return false;
  const a = workloadAnnotations(w);
  const ingress = a[ANNOTATION.meshIngress];
  const egress = a[ANNOTATION.meshEgress];
  const port = a[ANNOTATION.meshAdminPort];
  if (ingress !== undefined)
    checkMeshConfig(w, ANNOTATION.meshIngress, ingress, INGRESS_ENTRY, 'name#port#disableTLS (or DISABLED)');
  if (egress !== undefined)
    checkMeshConfig(w, ANNOTATION.meshEgress, egress, EGRESS_ENTRY, 'name#127.x.y.z:port#host:port');
  const env: Array<{ name: string; value: string }> = [];
  const container: Record<string, unknown> = {
    name: SERVICE_MESH_NAME,
    image: options.image ?? INJECTED_IMAGES.serviceMesh,
    restartPolicy: 'Always',
    args: ['-l', 'debug'],
    securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
    volumeMounts: [{ name: SECRETS_VOLUME, mountPath: SECRETS_MOUNT }],
    startupProbe: {
      exec: { command: ['test', '-f', '/ready'] },
      initialDelaySeconds: 1,
      periodSeconds: 5,
      failureThreshold: 5,
    },
  };
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      fail(w, `annotation ${ANNOTATION.meshAdminPort}="${port}" is not a port number`);
    }
    env.push({ name: 'CONTRAST_ADMIN_PORT', value: port });
    container['ports'] = [{ name: 'contrast-admin', containerPort: Number(port) }];
  }
  if (ingress) env.push({ name: 'CONTRAST_INGRESS_PROXY_CONFIG', value: ingress });
  if (egress) env.push({ name: 'CONTRAST_EGRESS_PROXY_CONFIG', value: egress });
  if (env.length) container['env'] = env;
  upsertInitContainer(w, container, 'last');
  ensureSecretsVolume(w);
  return true;
}

/** Parses a Kubernetes quantity enough to tell "0" (disabled) from a size. */
function imageStoreSize(w: Workload): string | undefined {
  const v = workloadAnnotations(w)[ANNOTATION.imageStoreSize];
  if (v === undefined) return '10Gi';
  if (/^0+([KMGTPE]i?)?$/.test(v)) return undefined;
  if (!/^\d+(\.\d+)?([KMGTPE]i?|[km])?$/.test(v))
    fail(w, `annotation ${ANNOTATION.imageStoreSize}="${v}" is not a storage quantity`);
  return v;
}

/** Adds the encrypted ephemeral block device the guest pulls images into, and its holder. */
export function injectImageStore(w: Workload, options: { initializerImage?: string } = {}): boolean {
  const size = imageStoreSize(w);
  if (size === undefined) return false;
  upsertInitContainer(
    w,
    {
      name: PVC_HOLDER_NAME,
      image: options.initializerImage ?? INJECTED_IMAGES.initializer,
      command: ['sh', '-c', 'sleep inf'],
      restartPolicy: 'Always',
      securityContext: { privileged: true },
      resources: memory(50),
      volumeDevices: [{ name: IMAGE_STORE_VOLUME, devicePath: '/dev/image_store' }],
    },
    'first',
  );
  const spec = podSpecPath(w)!;
  const volume = {
    name: IMAGE_STORE_VOLUME,
    ephemeral: {
      volumeClaimTemplate: {
        spec: {
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Block',
          resources: { requests: { storage: size } },
        },
      },
    },
  };
  const seq = w.doc.getIn([...spec, 'volumes'], true);
  if (isSeq(seq)) {
    const at = seq.items.findIndex((i) => isMap(i) && i.get('name') === IMAGE_STORE_VOLUME);
    if (at >= 0) {
      seq.items[at] = w.doc.createNode(volume);
      return true;
    }
  }
  ensureVolume(w, volume);
  return true;
}

/** Adds the debug shell sidecar (insecure: for debugging only). */
export function injectDebugShell(w: Workload, options: { image?: string } = {}): boolean {
  upsertInitContainer(
    w,
    {
      name: DEBUG_SHELL_NAME,
      image: options.image ?? INJECTED_IMAGES.debugShell,
      restartPolicy: 'Always',
      resources: memory(400),
    },
    'in-place-or-last',
  );
  return true;
}
