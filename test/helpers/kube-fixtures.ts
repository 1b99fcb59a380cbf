// Kubernetes YAML the generate tests and the generate benchmark both feed in.

/** A minimal Coordinator StatefulSet (pod role annotation, one container), as Contrast deploys it. */
export function coordinatorYaml(namespace: string, image: string): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: coordinator
  namespace: ${namespace}
spec:
  template:
    metadata:
      annotations:
        contrast.edgeless.systems/pod-role: coordinator
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: coordinator
          image: ${image}
`;
}
