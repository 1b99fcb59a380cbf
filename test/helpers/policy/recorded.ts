// Policies for the pods of recorded-pods.yaml (written to reproduce the pods whose agent requests
// are recorded in ../shared/agent-requests), generated with the hand-built image fixtures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkloads, parseKubeFile } from '../../../src/kube/index.js';
import { generatePolicies, loadPolicySettings } from '../../../src/policy/index.js';
import type { WorkloadPolicy } from '../../../src/policy/index.js';
import { RECORDED_BUSYBOX, RECORDED_PAUSE, imageMap } from './fixtures.js';

export const RECORDED_BUSYBOX_REF = 'mcr.microsoft.com/aks/e2e/library-busybox:master.220314.1-linux-amd64';

/** Pod name → its recorded request log under ../shared/agent-requests. */
export const RECORDED_LOGS: Record<string, string> = {
  cm1: 'pod-cm1.txt',
  'exec-test': 'pod-exec.txt',
  'pod-lifecycle': 'pod-lifecycle.txt',
};

/** Generated host-pull policies of the recorded pods, by pod name. */
export async function recordedPolicies(): Promise<Map<string, WorkloadPolicy>> {
  const text = readFileSync(join(import.meta.dirname, 'recorded-pods.yaml'), 'utf8');
  const f = parseKubeFile('recorded-pods.yaml', text);
  const ws = findWorkloads([f], { runtimeClassPrefix: 'kata-cc' });
  const settings = await loadPolicySettings({ flavour: 'host-pull' });
  const images = imageMap(
    [settings.cluster_config.pause_container_image, RECORDED_PAUSE],
    [RECORDED_BUSYBOX_REF, RECORDED_BUSYBOX],
  );
  const policies = await generatePolicies([f], ws, images, settings, { flavour: 'host-pull' });
  return new Map(policies.map((p) => [p.workload.name, p]));
}
