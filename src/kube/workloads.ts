// Finding the pod templates in Kubernetes resources, and ConfigMaps/Secrets they reference.
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, YAMLMap } from 'yaml';
import { ContrastError } from '../internal/errors.js';
import { documentToJS, type KubeFile } from './yaml.js';

export type PathItem = string | number;

/** A resource with a pod template (Pod itself, or a controller / Job / CronJob). */
export interface Workload {
  file: KubeFile;
  doc: Document;
  kind: string;
  /** metadata.name, or generateName when only that is set. */
  name: string;
  /** True when the name came from metadata.generateName. */
  generateName: boolean;
  /** metadata.namespace, default `default`. */
  namespace: string;
  /** Path of the resource in `doc` (empty for a top-level resource, `['items', i, …]` inside a List). */
  resourcePath: PathItem[];
  /** Path of the pod template (the object with `metadata` and `spec`) in `doc`. */
  templatePath: PathItem[];
  /** 0-based index of the document in `file.docs`. */
  docIndex: number;
}

/** Kinds that carry a pod template, and where it lives relative to the resource. */
export const WORKLOAD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Contrast's runtime classes (`contrast-cc-<platform>-<hash>`) start with this; the one definition. */
export const RUNTIME_CLASS_PREFIX = 'contrast-cc';

export interface FindWorkloadsOptions {
  /** Only pods whose runtimeClassName starts with this are returned ('' = all pods). Default `contrast-cc`. */
  runtimeClassPrefix?: string;
}

/** A resource found in the input: kind plus its location (List items are flattened). */
export interface Resource {
  file: KubeFile;
  doc: Document;
  docIndex: number;
  path: PathItem[];
  kind: string;
  value: Record<string, unknown>;
}

/**
 * Every resource in the files, with `List`s expanded recursively. Documents that are not maps are
 * skipped. With `kinds`, the caller wants only those: a document whose `kind` is plainly another one
 * (not a List) is skipped before it is converted to plain data (callers looking for Secrets and
 * ConfigMaps do not pay for converting every workload again).
 */
export function listResources(files: KubeFile[], kinds?: ReadonlySet<string>): Resource[] {
  const out: Resource[] = [];
  for (const file of files) {
    file.docs.forEach((doc, docIndex) => {
      if (!isMap(doc.contents)) return;
      if (kinds) {
        const kind = plainNodeAt(doc, ['kind'])?.node;
        const k = isScalar(kind) ? kind.value : undefined;
        if (typeof k === 'string' && !k.endsWith('List') && !kinds.has(k)) return;
      }
      walk(file, doc, docIndex, [], asRecord(documentToJS(doc, file.path)), out);
    });
  }
  return out;
}

function walk(
  file: KubeFile,
  doc: Document,
  docIndex: number,
  path: PathItem[],
  value: Record<string, unknown>,
  out: Resource[],
): void {
  const kind = typeof value['kind'] === 'string' ? value['kind'] : '';
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(value['items']))) {
    const items = value['items'];
    if (Array.isArray(items)) {
      items.forEach((item, i) => {
        if (isRecord(item)) walk(file, doc, docIndex, [...path, 'items', i], item, out);
      });
    }
    return;
  }
  out.push({ file, doc, docIndex, path, kind, value });
}

export function findWorkloads(files: KubeFile[], options: FindWorkloadsOptions = {}): Workload[] {
  const s = scanWorkloads(files, options.runtimeClassPrefix ?? RUNTIME_CLASS_PREFIX);
  if (s.matchingError) throw s.matchingError;
  return s.matching;
}

/**
 * `findWorkloads` with the prefix and with `''` (every pod) from one pass over the documents (each
 * converted once, not twice). Errors as the two calls in that order would throw them: a malformed
 * matching pod's first, then any other pod's.
 */
export function findWorkloadsAndAll(
  files: KubeFile[],
  runtimeClassPrefix: string,
): { workloads: Workload[]; all: Workload[] } {
  const s = scanWorkloads(files, runtimeClassPrefix);
  if (s.matchingError) throw s.matchingError;
  if (s.anyError) throw s.anyError;
  return { workloads: s.matching, all: s.all };
}

interface Scan {
  matching: Workload[];
  all: Workload[];
  /** The first malformed pod whose runtime class matches the prefix. */
  matchingError?: ContrastError;
  /** The first malformed pod of any runtime class. */
  anyError?: ContrastError;
}

function scanWorkloads(files: KubeFile[], prefix: string): Scan {
  const scan: Scan = { matching: [], all: [] };
  for (const r of listResources(files)) {
    const rel = WORKLOAD_TEMPLATE_PATHS[r.kind];
    if (!rel) continue;
    const template = asRecord(getPath(r.value, rel));
    const spec = asRecord(template['spec']);
    const rc = spec['runtimeClassName'];
    const matches = prefix === '' || (typeof rc === 'string' && rc.startsWith(prefix));
    let w: Workload;
    try {
      w = workloadOf(r, rel, spec);
    } catch (err) {
      if (!(err instanceof ContrastError)) throw err;
      if (matches) scan.matchingError ??= err;
      scan.anyError ??= err;
      continue;
    }
    scan.all.push(w);
    if (matches) scan.matching.push(w);
  }
  return scan;
}

function workloadOf(r: Resource, rel: readonly string[], spec: Record<string, unknown>): Workload {
  const metadata = asRecord(r.value['metadata']);
  const where = `${r.file.path} (document ${r.docIndex + 1}, ${r.kind})`;
  const rawName = metadata['name'];
  const rawGen = metadata['generateName'];
  let name: string;
  let generateName = false;
  if (typeof rawName === 'string' && rawName !== '') name = rawName;
  else if (typeof rawGen === 'string' && rawGen !== '') {
    name = rawGen;
    generateName = true;
  } else throw new ContrastError(`${where}: metadata.name is missing`, { code: 'KUBE_NO_NAME' });
  const ns = metadata['namespace'];
  if (ns !== undefined && typeof ns !== 'string')
    throw new ContrastError(`${where}: metadata.namespace must be a string`);
  if (!isRecord(spec) || !Array.isArray(spec['containers'])) {
    throw new ContrastError(`${where} ${name}: pod template has no spec.containers`, {
      code: 'KUBE_NO_CONTAINERS',
    });
  }
  return {
    file: r.file,
    doc: r.doc,
    kind: r.kind,
    name,
    generateName,
    namespace: typeof ns === 'string' && ns !== '' ? ns : 'default',
    resourcePath: r.path,
    templatePath: [...r.path, ...rel],
    docIndex: r.docIndex,
  };
}

/** The pod template (`{metadata, spec}`) as plain JSON. */
export function podTemplate(w: Workload): {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
} {
  const obj = asRecord(dataAt(w, w.templatePath));
  return { metadata: asRecord(obj['metadata']), spec: asRecord(obj['spec']) };
}

/**
 * The plain data at `path`, as converting the whole document would give it, converting only that
 * part when it is self-contained (plain maps and sequences down to it, no alias or merge key in it);
 * otherwise the whole document the general way. Nothing is cached: documents change between reads.
 */
export function dataAt(w: Workload, path: readonly PathItem[]): unknown {
  const found = plainNodeAt(w.doc, path);
  if (found && selfContained(found.node)) {
    const n = found.node;
    return n === undefined || n === null ? n : isScalar(n) ? n.value : (n as YAMLMap).toJSON();
  }
  return getPath(documentToJS(w.doc, w.file.path), path);
}

function selfContained(node: unknown): boolean {
  if (node === undefined || node === null || isScalar(node)) return true;
  if (isMap(node)) return plainKeys(node) && node.items.every((p) => selfContained(p.value));
  if (isSeq(node)) return node.items.every(selfContained);
  return false; // an alias, or a node kind the general conversion should handle
}

/**
 * Every key a plain string (a merge key's value is a symbol, a plain `<<` key a string: both need the
 * general conversion).
 */
function plainKeys(map: YAMLMap): boolean {
  return map.items.every((p) => isScalar(p.key) && typeof p.key.value === 'string' && p.key.value !== '<<');
}

/** The pod template node, for callers that edit it (injection). */
export function podTemplateNode(w: Workload): YAMLMap {
  const node = w.templatePath.length === 0 ? w.doc.contents : w.doc.getIn(w.templatePath, true);
  if (!isMap(node))
    throw new ContrastError(`${w.file.path}: ${w.kind} ${w.name}: pod template is not a mapping`);
  return node;
}

/** Sets metadata.annotations[key] on the pod template: replaced in place if present, else appended. */
export function setPodAnnotation(w: Workload, key: string, value: string): void {
  const node = podTemplateNode(w);
  const meta = node.get('metadata', true);
  if (meta === undefined || isNullNode(meta)) {
    // A new metadata block goes first in the template, where people expect it.
    const fresh = w.doc.createNode({ annotations: { [key]: value } });
    if (meta !== undefined) node.set('metadata', fresh);
    else node.items.unshift(w.doc.createPair('metadata', fresh));
    return;
  }
  if (!isMap(meta)) throw new ContrastError(`${w.file.path}: ${w.kind} ${w.name}: metadata is not a mapping`);
  const ann = meta.get('annotations', true);
  if (ann !== undefined && isNullNode(ann)) {
    meta.set('annotations', w.doc.createNode({ [key]: value }));
    return;
  }
  if (ann !== undefined && !isMap(ann))
    throw new ContrastError(`${w.file.path}: ${w.kind} ${w.name}: metadata.annotations is not a mapping`);
  // The same string again (every re-run): leave the node alone. The library would only assign the
  // scalar's value, which is already this one (a CPU profile of a warm `generate` put 50 ms under
  // these calls; ~1 ms after this check).
  const prev = ann?.get(key, true);
  if (isScalar(prev) && prev.value === value) return;
  node.setIn(['metadata', 'annotations', key], value);
}

function isNullNode(n: unknown): boolean {
  return n === null || (isScalar(n) && (n.value === null || n.value === undefined));
}

export function getPodAnnotation(w: Workload, key: string): string | undefined {
  // Usually straight from the scalar node (`dataAt`), not a conversion of the whole document.
  const v = dataAt(w, [...w.templatePath, 'metadata', 'annotations', key]);
  return typeof v === 'string' ? v : undefined;
}

/**
 * The node at `path` when every step is a plain map or sequence (no alias, no merge key) — what
 * `toJS` would give there without resolving anything; `{ node: undefined }` when the path ends early
 * at an absent key; undefined when something on the way needs the general conversion.
 */
export function plainNodeAt(doc: Document, path: readonly PathItem[]): { node: unknown } | undefined {
  let node: unknown = doc.contents;
  for (const k of path) {
    if (node === undefined) return { node };
    if (isMap(node)) {
      if (!plainKeys(node)) return undefined;
      node = node.get(k, true);
    } else if (isSeq(node) && typeof k === 'number') node = node.get(k, true);
    else return undefined;
    if (isAlias(node)) return undefined;
  }
  return { node };
}

/** Images as written in the YAML: init containers, then containers. */
export function workloadImages(w: Workload): string[] {
  const out: string[] = [];
  for (const key of ['initContainers', 'containers']) {
    const list = dataAt(w, [...w.templatePath, 'spec', key]);
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      const image = asRecord(c)['image'];
      if (typeof image !== 'string' || image === '') {
        throw new ContrastError(
          `${w.file.path}: ${w.kind} ${w.name}: container "${String(asRecord(c)['name'])}" has no image`,
        );
      }
      out.push(image);
    }
  }
  return out;
}

/** ConfigMaps and Secrets, keyed by namespace and name (unlike genpolicy, the namespace matters). */
export interface ConfigObject {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  namespace: string;
  /** data (Secrets: base64-decoded) merged with stringData; binaryData kept separately. */
  data: Record<string, string>;
  binaryData: Record<string, string>;
  source: string;
}

const configKinds: ReadonlySet<string> = new Set(['ConfigMap', 'Secret']);

export class ConfigObjects {
  private readonly byKey = new Map<string, ConfigObject>();

  static from(files: KubeFile[]): ConfigObjects {
    const c = new ConfigObjects();
    for (const r of listResources(files, configKinds)) {
      if (r.kind !== 'ConfigMap' && r.kind !== 'Secret') continue;
      const meta = asRecord(r.value['metadata']);
      const name = typeof meta['name'] === 'string' ? meta['name'] : '';
      const namespace =
        typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
      const source = `${r.file.path} (document ${r.docIndex + 1})`;
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(asRecord(r.value['data']))) {
        const s = v === null || v === undefined ? '' : String(v);
        data[k] = r.kind === 'Secret' ? Buffer.from(s, 'base64').toString('utf8') : s;
      }
      if (r.kind === 'Secret')
        for (const [k, v] of Object.entries(asRecord(r.value['stringData']))) data[k] = String(v ?? '');
      const binaryData: Record<string, string> = {};
      for (const [k, v] of Object.entries(asRecord(r.value['binaryData']))) binaryData[k] = String(v ?? '');
      c.byKey.set(`${r.kind}/${namespace}/${name}`, {
        kind: r.kind,
        name,
        namespace,
        data,
        binaryData,
        source,
      });
    }
    return c;
  }

  get(kind: 'ConfigMap' | 'Secret', namespace: string, name: string): ConfigObject | undefined {
    return this.byKey.get(`${kind}/${namespace}/${name}`);
  }

  /** Same name in another namespace, for a helpful error message. */
  elsewhere(kind: 'ConfigMap' | 'Secret', name: string): ConfigObject[] {
    return [...this.byKey.values()].filter((o) => o.kind === kind && o.name === name);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asRecord(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

function getPath(v: unknown, path: readonly PathItem[]): unknown {
  let cur = v;
  for (const p of path)
    cur = isRecord(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[p as string] : undefined;
  return cur;
}
