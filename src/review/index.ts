// Review tools: what a policy admits (show), what changed between two (diff), and whether YAML on
// disk is what generation would write (check). See README.md.
export { diffPolicies, diffWorkload, diffValue, type Change, type DiffResult } from './diff.js';
export {
  changePhrase,
  diffJson,
  diffLines,
  diffMarkdown,
  diffText,
  showJson,
  showMarkdown,
  showText,
} from './format.js';
export { loadViews, viewOfWorkload, viewsOfFiles, type LoadResult } from './load.js';
export {
  splitPolicy,
  workloadKey,
  workloadLabel,
  workloadView,
  type ContainerView,
  type SandboxView,
  type WorkloadView,
} from './model.js';
