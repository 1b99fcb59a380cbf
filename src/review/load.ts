// Reads what a reviewer points at — Kubernetes YAML files or directories (src/kube's reader), a
// .rego policy, or initdata — into policy views. Decoding of annotations and initdata is
// src/policyeval's (one codec for every command).
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ContrastError, errorMessage } from '../internal/errors.js';
import {
  findWorkloads,
  parseKubeFile,
  podTemplate,
  readKubeFiles,
  RUNTIME_CLASS_PREFIX,
  type KubeFile,
  type Workload,
} from '../kube/index.js';
import {
  extractPolicy,
  INITDATA_ANNOTATION,
  POLICY_ANNOTATION,
  policyFromAnnotations,
  type PolicySource,
} from '../policyeval/index.js';
import { workloadView, type WorkloadView } from './model.js';

export interface LoadResult {
  workloads: WorkloadView[];
  /** Confidential workloads found without a policy annotation (`Kind/name in file`). */
  withoutPolicy: string[];
}

export interface LoadOptions {
  /** `kind/name` or `name`: keep only this workload. */
  workload?: string;
}

function looksLikeYaml(path: string, text: string): boolean {
  if (/\.ya?ml$/i.test(path)) return true;
  return /^(apiVersion|kind)\s*:/m.test(text) && !/^\s*package\s/m.test(text.slice(0, 4096));
}

/** The view of one workload's policy, or undefined when its pod template has no policy annotation. */
export function viewOfWorkload(w: Workload, file = w.file.path): WorkloadView | undefined {
  const where = `${file}: ${w.kind}/${w.name}`;
  const annotations = podTemplate(w).metadata['annotations'];
  const ann =
    typeof annotations === 'object' && annotations !== null ? (annotations as Record<string, unknown>) : {};
  const source = policyFromAnnotations(where, ann, `${file}#${w.kind}/${w.name}`);
  if (!source) return undefined;
  return fromSource(source, {
    kind: w.kind,
    name: w.name,
    namespace: w.namespace,
    annotation: INITDATA_ANNOTATION in ann ? INITDATA_ANNOTATION : POLICY_ANNOTATION,
  });
}

function fromSource(
  s: PolicySource,
  id: { kind: string; name: string; namespace: string; annotation: string },
): WorkloadView {
  return workloadView({
    ...id,
    origin: s.origin,
    hash: s.hash ?? '',
    text: s.text,
    ...(s.initdataEntries ? { initdataEntries: s.initdataEntries } : {}),
  });
}

function matches(w: { kind: string; name: string }, want: string): boolean {
  const l = want.toLowerCase();
  return `${w.kind}/${w.name}`.toLowerCase() === l || w.name.toLowerCase() === l;
}

/** Views of every policy in the YAML files (workloads in file and document order). */
export function viewsOfFiles(files: KubeFile[], options: LoadOptions = {}): LoadResult {
  const out: LoadResult = { workloads: [], withoutPolicy: [] };
  const all = findWorkloads(files, { runtimeClassPrefix: '' });
  const chosen = options.workload === undefined ? all : all.filter((w) => matches(w, options.workload!));
  if (options.workload !== undefined && chosen.length === 0) {
    throw new ContrastError(`no workload "${options.workload}" in ${files.map((f) => f.path).join(', ')}`, {
      hint: all.length
        ? `workloads: ${all.map((w) => `${w.kind}/${w.name}`).join(', ')}`
        : 'the input has no workloads',
    });
  }
  for (const w of chosen) {
    const v = viewOfWorkload(w);
    if (v) out.workloads.push(v);
    else if (
      options.workload !== undefined ||
      String(podTemplate(w).spec['runtimeClassName'] ?? '').startsWith(RUNTIME_CLASS_PREFIX)
    )
      out.withoutPolicy.push(`${w.kind}/${w.name} in ${w.file.path}`);
  }
  return out;
}

/** Reads a YAML file or directory, a .rego policy, or initdata (TOML, gzip or base64). */
export async function loadViews(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new ContrastError(`${path}: cannot read: ${errorMessage(err)}`);
  }
  if (isDir) return viewsOfFiles(await readKubeFiles([path]), options);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ContrastError(`${path}: cannot read: ${errorMessage(err)}`);
  }
  const isGzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = isGzip ? '' : bytes.toString('utf8');
  if (!isGzip && looksLikeYaml(path, text)) return viewsOfFiles([parseKubeFile(path, text)], options);
  const source = extractPolicy(path, bytes);
  return {
    workloads: [
      fromSource(source, {
        kind: '',
        name: basename(path),
        namespace: '',
        annotation: source.origin.includes('initdata') ? 'initdata' : 'policy',
      }),
    ],
    withoutPolicy: [],
  };
}
