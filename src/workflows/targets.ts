// Stage "find workloads", shared by `contrast generate` and `contrast policy generate`: the pods whose
// runtime class starts with the prefix, and a warning for each class that looks like a typo of it.
import type { KubeFile, Workload } from '../kube/index.js';
import { findWorkloadsAndAll } from '../kube/index.js';
import { runtimeClassNearMisses } from '../contrast/runtime.js';

export function findConfidentialWorkloads(
  files: KubeFile[],
  runtimeClassPrefix: string,
  warn: (message: string) => void,
): Workload[] {
  const { workloads, all } = findWorkloadsAndAll(files, runtimeClassPrefix);
  for (const m of runtimeClassNearMisses(all, runtimeClassPrefix)) warn(m);
  return workloads;
}
