// The lab pod's policy and an agent holding it, with the pod's requests written in this repository
// (lab-pod-requests.ts). Tests adapt the requests (other pod kinds, volumes) and check that the
// generated policy allows them and denies tampered variants; nothing here needs ../shared.
import { findWorkloads, parseKubeFile } from '../../../src/kube/index.js';
import type { AgentSession } from '../../../src/policyeval/index.js';
import { generatePolicies, loadPolicySettings } from '../../../src/policy/index.js';
import type { Flavour } from '../../../src/policy/index.js';
import { GUEST_PAUSE, LAB_APP, RECORDED_PAUSE, imageMap } from './fixtures.js';
import { agentFor } from './harness.js';
import type { AgentRequest } from './harness.js';
import { NS, PINNED, labPodRequests } from './lab-pod-requests.js';

export {
  APP_ID,
  CPATH,
  NS,
  PINNED,
  RESOLVED,
  SANDBOX,
  guestPullStorage,
  labPodRequests,
  tardevStorages,
} from './lab-pod-requests.js';
export type { Req } from './lab-pod-requests.js';

/**
 * The lab Deployment `web` whose pod lab-pod-requests.ts describes: one container `app` running
 * `image` with an emptyDir at /data; `extra` adds lines to the container (indented 10 spaces).
 */
export function labDeployment(image: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}}
spec:
  template:
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: app
          image: ${image}
${extra}          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
`;
}

/** The image as the YAML writes it: digest-pinned for guest pull. */
export function labImage(flavour: Flavour): string {
  return flavour === 'guest-pull' ? PINNED : 'localhost:5000/test/app:v1';
}

/** The policy text generated for the (single) workload in `yamlText`, with the lab image fixtures. */
export async function labPolicy(flavour: Flavour, yamlText: string): Promise<string> {
  const f = parseKubeFile('pod.yaml', yamlText);
  const settings = await loadPolicySettings({ flavour });
  const pause = flavour === 'guest-pull' ? GUEST_PAUSE : RECORDED_PAUSE;
  const images = imageMap(
    [settings.cluster_config.pause_container_image, pause],
    [labImage(flavour), LAB_APP],
  );
  const [p] = await generatePolicies([f], findWorkloads([f]), images, settings, { flavour });
  return p!.policyText;
}

/**
 * An agent running the policy generated for `yamlText` (a workload called `name` in messages), and
 * the lab pod's requests for pod `pod` (lab-pod-requests.ts).
 */
export async function labSession(
  flavour: Flavour,
  yamlText: string,
  pod: string,
  name: string,
): Promise<{ agent: AgentSession; reqs: AgentRequest[] }> {
  return {
    agent: await agentFor(await labPolicy(flavour, yamlText), `generated ${flavour} policy of ${name}`),
    reqs: labPodRequests(flavour, pod),
  };
}
