// Kubernetes YAML in/out and the workloads in it. See README.md.
export { documentToJS, parseKubeFile, readKubeFiles, serializeKubeFile, yamlMaxAliasCount } from './yaml.js';
export type { KubeFile } from './yaml.js';
export {
  ConfigObjects,
  asRecord,
  isRecord,
  RUNTIME_CLASS_PREFIX,
  WORKLOAD_TEMPLATE_PATHS,
  findWorkloads,
  findWorkloadsAndAll,
  getPodAnnotation,
  listResources,
  podTemplate,
  podTemplateNode,
  setPodAnnotation,
  workloadImages,
} from './workloads.js';
export type { ConfigObject, FindWorkloadsOptions, PathItem, Resource, Workload } from './workloads.js';
