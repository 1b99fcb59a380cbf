// `--check`: is what is on disk what generation would write now? The pipelines run in memory and
// hand their would-be outputs here; each file that differs is reported with the workloads in it and
// what differs, through the same semantic diff as `policy diff` (a policy annotation), plus the other
// pod-template edits generation makes (runtime class, injected containers, annotations).
import { readFile } from 'node:fs/promises';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { findWorkloads, parseKubeFile, podTemplate, type Workload } from '../kube/index.js';
import { INITDATA_ANNOTATION, POLICY_ANNOTATION } from '../policyeval/index.js';
import { diffValue, diffWorkload, type Change } from './diff.js';
import { changePhrase, diffLines } from './format.js';
import { viewOfWorkload } from './load.js';
import type { WorkloadView } from './model.js';

export interface StaleEntry {
  file: string;
  /** `Kind/name`, when the difference is in one workload. */
  workload?: string;
  namespace?: string;
  /** What is wrong when it is not (only) a list of changes: "no policy annotation", "missing"… */
  reason?: string;
  changes: Change[];
}

type Obj = Record<string, unknown>;

/** A file's text, undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ContrastError(`${path}: cannot read: ${errorMessage(err)}`);
  }
}

function label(w: Workload): string {
  return `${w.kind}/${w.name}`;
}
function key(w: Workload): string {
  return `${w.kind}/${w.namespace}/${w.name}`;
}

/** The pod template without the policy annotations (those are compared semantically). */
function templateWithoutPolicy(w: Workload): Obj {
  const t = podTemplate(w);
  const metadata = { ...t.metadata };
  const ann = { ...((metadata['annotations'] as Obj | undefined) ?? {}) };
  delete ann[POLICY_ANNOTATION];
  delete ann[INITDATA_ANNOTATION];
  metadata['annotations'] = ann;
  return { metadata, spec: t.spec };
}

function oldView(w: Workload, file: string): { view?: WorkloadView; reason?: string } {
  try {
    const view = viewOfWorkload(w, file);
    return view ? { view } : { reason: 'no policy annotation (never generated?)' };
  } catch (err) {
    return { reason: `the policy annotation on disk cannot be read: ${errorMessage(err)}` };
  }
}

/**
 * Compares the text on disk (undefined: no such file) with the text generation would write, per
 * workload. Returns nothing when they are equal.
 */
export function compareYaml(file: string, onDisk: string | undefined, regenerated: string): StaleEntry[] {
  if (onDisk === regenerated) return [];
  if (onDisk === undefined) return [{ file, reason: 'missing (generation would create it)', changes: [] }];
  let before: Workload[];
  try {
    before = findWorkloads([parseKubeFile(file, onDisk)], { runtimeClassPrefix: '' });
  } catch (err) {
    return [{ file, reason: `cannot be read: ${errorMessage(err)}`, changes: [] }];
  }
  const after = findWorkloads([parseKubeFile(file, regenerated)], { runtimeClassPrefix: '' });
  const byKey = new Map(before.map((w) => [key(w), w]));
  const out: StaleEntry[] = [];
  for (const w of after) {
    const id = { file, workload: label(w), namespace: w.namespace };
    const old = byKey.get(key(w));
    if (!old) {
      out.push({ ...id, reason: 'not in the file on disk', changes: [] });
      continue;
    }
    const changes: Change[] = [];
    let reason: string | undefined;
    const next = viewOfWorkload(w, file);
    if (next) {
      const prev = oldView(old, file);
      if (prev.view) changes.push(...diffWorkload(prev.view, next, label(w)));
      else reason = prev.reason;
      if (prev.view && prev.view.hash !== next.hash && changes.length === 0)
        reason = `policy hash ${prev.view.hash} on disk, ${next.hash} generated (same content, different encoding)`;
    }
    diffValue('pod', templateWithoutPolicy(old), templateWithoutPolicy(w), (field, b, a) =>
      changes.push({ workload: label(w), namespace: w.namespace, field, before: b, after: a }),
    );
    if (reason !== undefined || changes.length > 0)
      out.push({ ...id, ...(reason ? { reason } : {}), changes });
  }
  if (out.length === 0)
    out.push({
      file,
      reason: 'differs from what generation writes (outside the policies and pod templates)',
      changes: [],
    });
  return out;
}

export interface ManifestPolicy {
  SANs: string[] | null;
  WorkloadSecretID?: string;
  Role?: string;
}

/**
 * Compares manifest.json `Policies` on disk with the generated ones. `owners` names the workload of
 * each generated hash. Only the policies are compared: reference values and owner keys are the
 * operator's, not derived from the YAML.
 */
export function compareManifestPolicies(
  file: string,
  onDiskText: string | undefined,
  generated: Record<string, ManifestPolicy>,
  owners: ReadonlyMap<string, string>,
): StaleEntry[] {
  if (onDiskText === undefined)
    return [{ file, reason: 'missing (generation would create it)', changes: [] }];
  let onDisk: Record<string, ManifestPolicy>;
  try {
    const parsed = JSON.parse(onDiskText) as { Policies?: Record<string, ManifestPolicy> | null };
    onDisk = parsed.Policies ?? {};
  } catch (err) {
    throw new ContrastError(`${file}: not valid JSON: ${errorMessage(err)}`);
  }
  const changes: Change[] = [];
  const who = (hash: string) => owners.get(hash) ?? '(manifest)';
  for (const [hash, entry] of Object.entries(generated)) {
    const old = onDisk[hash];
    if (!old) changes.push({ workload: who(hash), field: 'manifest Policies', before: null, after: hash });
    else
      diffValue(`manifest Policies[${hash.slice(0, 12)}…]`, old, entry, (field, b, a) =>
        changes.push({ workload: who(hash), field, before: b, after: a }),
      );
  }
  for (const [hash, entry] of Object.entries(onDisk))
    if (!(hash in generated))
      changes.push({
        workload: entry.SANs?.[0] ? `${entry.SANs[0]} (old policy)` : '(manifest)',
        field: 'manifest Policies',
        before: hash,
        after: null,
      });
  return changes.length ? [{ file, changes }] : [];
}

/** stderr lines: each stale file and workload, then what differs. */
export function formatStale(entries: StaleEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    const head = `stale: ${e.file}${e.workload ? `: ${e.workload}${e.namespace ? ` (namespace ${e.namespace})` : ''}` : ''}`;
    out.push(e.reason ? `${head}: ${e.reason}` : head);
    // Under a workload heading the per-workload lines of diffLines would repeat it.
    if (e.workload) out.push(...diffLines(e.changes).filter((l) => l.startsWith(' ')));
    else for (const c of e.changes) out.push(`  ${c.workload}: ${changePhrase(c)}`);
  }
  return out.join('\n') + '\n';
}
