// Semantic diff of two sets of policies: per workload and container, what the second admits that the
// first did not and vice versa. Lists whose order the rules ignore (env, capabilities, mounts, exec
// commands) are compared as sets; args are compared in order, as the agent does.
import {
  workloadKey,
  workloadLabel,
  type ContainerView,
  type EnvEntry,
  type MountView,
  type WorkloadView,
} from './model.js';

export interface Change {
  /** `Kind/name` (namespace in `namespace`). */
  workload: string;
  namespace?: string;
  /** Container name; absent for workload- and sandbox-level changes. */
  container?: string;
  /** `image`, `env`, `mounts[/data]`, `sandbox.network.UpdateRoutesRequest.forbidden_devices`… */
  field: string;
  /** null when something was added. */
  before: unknown;
  /** null when something was removed. */
  after: unknown;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Stable JSON (sorted keys) for equality and set membership. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    isObj(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]]),
        )
      : x,
  );
}

function equal(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

type Emit = (field: string, before: unknown, after: unknown) => void;

/** Elements of a list as set members: `+x` / `-x` changes (strings stay strings). */
function setDiff(field: string, a: unknown[], b: unknown[], emit: Emit): void {
  const key = (x: unknown) => (typeof x === 'string' ? x : canonical(x));
  const ka = new Set(a.map(key));
  const kb = new Set(b.map(key));
  for (const x of a) if (!kb.has(key(x))) emit(field, x, null);
  for (const x of b) if (!ka.has(key(x))) emit(field, null, x);
}

/**
 * Any two JSON values: objects key by key, lists as sets (lists of named objects by name), scalars
 * as before → after. Used where this module knows no better reading (sandbox, unknown fields).
 */
export function diffValue(field: string, a: unknown, b: unknown, emit: Emit): void {
  if (equal(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const path = field ? `${field}.${k}` : k;
      if (!(k in a)) emit(path, null, b[k]);
      else if (!(k in b)) emit(path, a[k], null);
      else diffValue(path, a[k], b[k], emit);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const named = (l: unknown[]) => l.every((x) => isObj(x) && typeof x['name'] === 'string');
    if (named(a) && named(b) && (a.length > 0 || b.length > 0)) {
      const byName = (l: unknown[]) => new Map(l.map((x) => [(x as Obj)['name'] as string, x]));
      const ma = byName(a);
      const mb = byName(b);
      for (const [n, x] of ma) {
        if (!mb.has(n)) emit(`${field}[${n}]`, x, null);
        else diffValue(`${field}[${n}]`, x, mb.get(n), emit);
      }
      for (const [n, x] of mb) if (!ma.has(n)) emit(`${field}[${n}]`, null, x);
      return;
    }
    setDiff(field, a, b, emit);
    return;
  }
  emit(field, a ?? null, b ?? null);
}

const envString = (e: EnvEntry) => `${e.name}=${e.value}`;
const IMAGE_DRIVERS = new Set(['image_guest_pull', 'blk']);
const isImageStorage = (s: Obj) =>
  IMAGE_DRIVERS.has(String(s['driver'])) || s['fstype'] === 'fuse3.kata-overlay';

function envDiff(a: EnvEntry[], b: EnvEntry[], emit: Emit): void {
  const group = (l: EnvEntry[]) => {
    const m = new Map<string, string[]>();
    for (const e of l) m.set(e.name, [...(m.get(e.name) ?? []), envString(e)]);
    return m;
  };
  const ga = group(a);
  const gb = group(b);
  for (const [name, xs] of ga) {
    const ys = gb.get(name);
    if (!ys) for (const x of xs) emit('env', x, null);
    else if (xs.length === 1 && ys.length === 1) {
      if (xs[0] !== ys[0]) emit('env', xs[0], ys[0]);
    } else setDiff('env', xs, ys, emit);
  }
  for (const [name, ys] of gb) if (!ga.has(name)) for (const y of ys) emit('env', null, y);
}

function mountDiff(a: MountView[], b: MountView[], emit: Emit): void {
  const strip = (m: MountView) => ({ source: m.source, type: m.type, options: m.options });
  const ma = new Map(a.map((m) => [m.destination, m]));
  const mb = new Map(b.map((m) => [m.destination, m]));
  for (const [d, m] of ma) {
    const n = mb.get(d);
    if (!n) emit('mounts', m, null);
    else if (!equal(strip(m), strip(n))) {
      for (const k of ['source', 'type'] as const) if (m[k] !== n[k]) emit(`mounts[${d}].${k}`, m[k], n[k]);
      setDiff(`mounts[${d}].options`, m.options, n.options, emit);
    }
  }
  for (const [d, m] of mb) if (!ma.has(d)) emit('mounts', null, m);
}

/** Every difference between two views of the same container. */
export function diffContainer(a: ContainerView, b: ContainerView, emit: Emit): void {
  if (a.image !== b.image) emit('image', a.image, b.image);
  if (!equal(a.layers ?? null, b.layers ?? null)) emit('layers', a.layers ?? null, b.layers ?? null);
  if (!equal(a.user, b.user)) emit('user', a.user, b.user);
  if (!equal(a.args, b.args)) emit('args', a.args, b.args);
  envDiff(a.env, b.env, emit);
  if (a.cwd !== b.cwd) emit('cwd', a.cwd, b.cwd);
  mountDiff(a.mounts, b.mounts, emit);
  if (a.privileged !== b.privileged) emit('privileged', a.privileged, b.privileged);
  const ca = a.capabilities;
  const cb = b.capabilities;
  setDiff('capabilities', ca.bounding, cb.bounding, emit);
  for (const set of ['effective', 'permitted', 'inheritable', 'ambient'] as const) {
    // Reported separately only when a set moved differently from the bounding set.
    const sameMove =
      equal(ca[set], ca.bounding) &&
      equal(cb[set], cb.bounding) &&
      (set === 'effective' || set === 'permitted');
    if (!sameMove) setDiff(`capabilities.${set}`, ca[set], cb[set], emit);
  }
  for (const k of ['noNewPrivileges', 'readOnlyRoot', 'terminal', 'sandboxPidns'] as const)
    if (!equal(a[k], b[k])) emit(k, a[k] ?? null, b[k] ?? null);
  setDiff(
    'exec',
    a.exec.map((c) => c.join(' ')),
    b.exec.map((c) => c.join(' ')),
    emit,
  );
  setDiff(
    'storages',
    a.storages.filter((s) => !isImageStorage(s)),
    b.storages.filter((s) => !isImageStorage(s)),
    emit,
  );
  setDiff('devices', a.devices, b.devices, emit);
  diffValue('annotations', a.annotations, b.annotations, emit);
  diffValue('sysctls', a.sysctls, b.sysctls, emit);
  setDiff('namespaces', a.namespaces, b.namespaces, emit);
  setDiff('maskedPaths', a.maskedPaths, b.maskedPaths, emit);
  setDiff('readonlyPaths', a.readonlyPaths, b.readonlyPaths, emit);
  if (!equal(a.ociVersion, b.ociVersion)) emit('OCI.Version', a.ociVersion ?? null, b.ociVersion ?? null);
  diffValue('other', a.other, b.other, (f, x, y) => emit(f.replace(/^other\./, ''), x, y));
}

/** Every difference between two policies of one workload. */
export function diffWorkload(a: WorkloadView, b: WorkloadView, label = workloadLabel(b)): Change[] {
  const out: Change[] = [];
  const ns = b.namespace ? { namespace: b.namespace } : {};
  const at =
    (container?: string): Emit =>
    (field, before, after) =>
      out.push({ workload: label, ...ns, ...(container ? { container } : {}), field, before, after });
  if (a.rules !== b.rules) at()('rules', `sha256:${a.rules}`, `sha256:${b.rules}`);
  const ma = new Map(a.containers.map((c) => [c.name, c]));
  const mb = new Map(b.containers.map((c) => [c.name, c]));
  for (const c of a.containers) {
    const d = mb.get(c.name);
    if (!d) at(c.name)('container', c.image, null);
    else diffContainer(c, d, at(c.name));
  }
  for (const c of b.containers) if (!ma.has(c.name)) at(c.name)('container', null, c.image);
  const common = (l: ContainerView[], other: Map<string, ContainerView>) =>
    l.filter((c) => other.has(c.name)).map((c) => c.name);
  const oa = common(a.containers, mb);
  const ob = common(b.containers, ma);
  if (!equal(oa, ob)) at()('container order', oa, ob);
  diffValue('sandbox', a.sandbox, b.sandbox, at());
  return out;
}

export interface DiffResult {
  changes: Change[];
  /** Workloads present on both sides, by label, that admit the same. */
  unchanged: string[];
}

/**
 * Diffs two inputs. Workloads are matched by kind, namespace and name; when each side holds exactly
 * one policy they are compared whatever their names (a .rego file against a YAML, two revisions of
 * a renamed workload).
 */
export function diffPolicies(a: WorkloadView[], b: WorkloadView[]): DiffResult {
  const changes: Change[] = [];
  const unchanged: string[] = [];
  if (a.length === 1 && b.length === 1) {
    const c = diffWorkload(a[0]!, b[0]!);
    if (c.length === 0) unchanged.push(workloadLabel(b[0]!));
    return { changes: c, unchanged };
  }
  const mb = new Map(b.map((w) => [workloadKey(w), w]));
  const ma = new Map(a.map((w) => [workloadKey(w), w]));
  for (const w of a) {
    const other = mb.get(workloadKey(w));
    const ns = w.namespace ? { namespace: w.namespace } : {};
    if (!other)
      changes.push({ workload: workloadLabel(w), ...ns, field: 'workload', before: w.hash, after: null });
    else {
      const c = diffWorkload(w, other);
      if (c.length === 0) unchanged.push(workloadLabel(w));
      changes.push(...c);
    }
  }
  for (const w of b)
    if (!ma.has(workloadKey(w)))
      changes.push({
        workload: workloadLabel(w),
        ...(w.namespace ? { namespace: w.namespace } : {}),
        field: 'workload',
        before: null,
        after: w.hash,
      });
  return { changes, unchanged };
}
