// Pod-template access for the generate-time patchers (injections, verifiers, replacements, runtime
// classes). They edit the parsed YAML documents node by node, so comments and formatting of
// everything they do not change survive, and every edit is an upsert so running twice changes nothing.
import { isMap, isScalar, isSeq, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { dataAt, type Workload } from './workloads.js';

export type Path = readonly (string | number)[];

/** Path of the pod spec inside the document. */
export function podSpecPath(w: Workload): Path {
  return [...w.templatePath, 'spec'];
}

export function describe(w: Workload): string {
  return `${w.file.path}: ${w.kind}/${w.name}`;
}

/** Plain JS value at `path` (undefined when absent). */
export function getJS(doc: Document, path: Path): unknown {
  const node = doc.getIn(path, true);
  if (node === undefined || node === null) return undefined;
  if (isScalar(node)) return node.value;
  if (isMap(node) || isSeq(node)) return node.toJSON();
  return node;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  }
  return out;
}

/**
 * The control annotations Contrast reads (service mesh, workload secret ID, skip-initializer, pod role,
 * image-store size, secure PV). Go reads them from the pod template's metadata only
 * (edgelesssys/contrast internal/kuberesource/mutators.go: MapPodSpecWithMeta passes the template's
 * ObjectMeta; cli/cmd/generate.go reads the role from Spec.Template.Annotations), so the same
 * annotation on the Deployment/StatefulSet itself has no effect — here neither.
 */
export function workloadAnnotations(w: Workload): Record<string, string> {
  return templateAnnotations(w);
}

/** Contrast annotations set on the object's own metadata, which Contrast ignores (for a warning). */
export function ignoredObjectAnnotations(w: Workload): string[] {
  if (w.templatePath.length === w.resourcePath.length) return []; // a Pod: one metadata
  const own = stringMap(getJS(w.doc, [...w.resourcePath, 'metadata', 'annotations']));
  const tpl = templateAnnotations(w);
  return Object.keys(own).filter((k) => k.startsWith('contrast.edgeless.systems/') && !(k in tpl));
}

/**
 * Annotations of the pod template only (what ends up on the pod). The patchers ask for them several
 * times per workload while documents change between the calls, so they are read from the nodes each
 * time (`dataAt`: only this map is converted when it is self-contained; never stale).
 */
export function templateAnnotations(w: Workload): Record<string, string> {
  return stringMap(dataAt(w, [...w.templatePath, 'metadata', 'annotations']));
}

export interface ContainerRef {
  list: 'containers' | 'initContainers';
  index: number;
  node: YAMLMap;
  name: string;
}

/** The seq at `path`, created empty when absent. */
export function ensureSeq(doc: Document, path: Path): YAMLSeq {
  const node = doc.getIn(path, true);
  if (isSeq(node)) return node;
  const seq = doc.createNode([]) as YAMLSeq;
  doc.setIn(path, seq);
  return seq;
}

function seqAt(doc: Document, path: Path): YAMLSeq | undefined {
  const node = doc.getIn(path, true);
  return isSeq(node) ? node : undefined;
}

export function containers(
  w: Workload,
  which: 'containers' | 'initContainers' | 'both' = 'both',
): ContainerRef[] {
  const spec = podSpecPath(w);
  if (!spec) return [];
  const lists: Array<'containers' | 'initContainers'> =
    which === 'both' ? ['initContainers', 'containers'] : [which];
  const out: ContainerRef[] = [];
  for (const list of lists) {
    const seq = seqAt(w.doc, [...spec, list]);
    seq?.items.forEach((item, index) => {
      if (isMap(item)) out.push({ list, index, node: item, name: String(item.get('name') ?? '') });
    });
  }
  return out;
}

export type Placement = 'first' | 'last' | 'in-place-or-last';

/**
 * A node holding `value`: `old` itself where it already holds it in the same layout (map keys in
 * the same order, sequences of the same length), with differing scalar values set in place, else a
 * fresh node (`doc.createNode`) for the part that differs. An upsert of what is already there (every
 * re-run) thus keeps the parsed nodes, and the document keeps its parse-time shape, so serialization
 * writes its source back without rendering it (issue 15). The bytes are those a fresh node gives
 * unless the old node was restyled by hand (quotes, flow style, comments inside it), which is then
 * kept rather than re-rendered: same meaning either way.
 */
function reconcile(doc: Document, old: unknown, value: unknown): unknown {
  // An anchored node may be aliased elsewhere: an edit in place would change those too.
  if ((old as { anchor?: string } | undefined)?.anchor) return doc.createNode(value);
  if (isScalar(old) && value !== null && typeof value !== 'object' && typeof old.value === typeof value) {
    if (old.value !== value) old.value = value;
    return old;
  }
  if (isMap(old) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (
      old.items.length === entries.length &&
      old.items.every((p, i) => isScalar(p.key) && p.key.value === entries[i]![0])
    ) {
      old.items.forEach((p, i) => (p.value = reconcile(doc, p.value, entries[i]![1]) as typeof p.value));
      return old;
    }
  }
  if (isSeq(old) && Array.isArray(value) && old.items.length === value.length) {
    old.items = old.items.map((item, i) => reconcile(doc, item, value[i]));
    return old;
  }
  return doc.createNode(value);
}

/**
 * Puts `container` into the pod's init containers: same-name containers are removed first and the new
 * one goes first, last, or where the old one was. Each choice is idempotent.
 */
export function upsertInitContainer(
  w: Workload,
  container: Record<string, unknown>,
  placement: Placement,
): void {
  const spec = podSpecPath(w)!;
  const seq = ensureSeq(w.doc, [...spec, 'initContainers']);
  const name = container['name'];
  const oldIndex = seq.items.findIndex((i) => isMap(i) && i.get('name') === name);
  const old = oldIndex >= 0 ? seq.items[oldIndex] : undefined;
  seq.items = seq.items.filter((i) => !(isMap(i) && i.get('name') === name));
  const node = reconcile(w.doc, old, container);
  if (placement === 'first') seq.items.unshift(node);
  else if (placement === 'in-place-or-last' && oldIndex >= 0) seq.items.splice(oldIndex, 0, node);
  else seq.items.push(node);
}

export interface VolumeCheck {
  /** Returns an error message when an existing same-name volume is unacceptable. */
  (existing: Record<string, unknown>): string | undefined;
}

/** Adds the volume unless one with its name exists (which `check` may reject). */
export function ensureVolume(
  w: Workload,
  volume: Record<string, unknown>,
  check?: VolumeCheck,
): string | undefined {
  const spec = podSpecPath(w)!;
  const seq = ensureSeq(w.doc, [...spec, 'volumes']);
  const existing = seq.items.find((i) => isMap(i) && i.get('name') === volume['name']);
  if (existing && isMap(existing)) return check?.(existing.toJSON() as Record<string, unknown>);
  seq.items.push(w.doc.createNode(volume));
  return undefined;
}

/** Replaces a same-name or same-path mount in the container, or appends the mount. */
export function upsertMount(
  w: Workload,
  container: YAMLMap,
  mount: { name: string; mountPath: string; [k: string]: unknown },
): void {
  const existing: unknown = container.get('volumeMounts', true);
  let s: YAMLSeq;
  if (isSeq(existing)) s = existing;
  else {
    s = w.doc.createNode([]) as YAMLSeq;
    container.set('volumeMounts', s);
  }
  const same = (i: unknown): boolean =>
    isMap(i) && (i.get('name') === mount.name || i.get('mountPath') === mount.mountPath);
  const at = s.items.findIndex(same);
  const node = reconcile(w.doc, at >= 0 ? s.items[at] : undefined, mount);
  if (at < 0) {
    s.items.push(node);
    return;
  }
  s.items = s.items.flatMap((i, idx) => (idx === at ? [node] : same(i) ? [] : [i]));
}

export function runtimeClassName(w: Workload): string | undefined {
  const spec = podSpecPath(w);
  if (!spec) return undefined;
  const v = getJS(w.doc, [...spec, 'runtimeClassName']);
  return typeof v === 'string' ? v : undefined;
}
