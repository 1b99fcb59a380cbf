// Runtime-class patching (contrast-generate.md §5): every class starting with `contrast-cc` is
// patched, as the Go CLI selects them by that prefix: `contrast-cc-<platform>[-hash]` becomes that
// platform's current handler, any other `contrast-cc…` (and `kata-cc-isolation`) the default handler.
// Classes that look like a typo of `contrast-cc` are left alone but reported, since such a pod gets
// no policy and runs outside the confidential VM.
import { ContrastError } from '../internal/errors.js';
import { parseRuntimeClass, runtimeHandler, UNKNOWN_HANDLER, type PlatformInfo } from './platforms.js';
import { describe, podSpecPath, runtimeClassName } from '../kube/pod.js';
import type { Workload } from '../kube/workloads.js';
import { RUNTIME_CLASS_PREFIX } from '../kube/workloads.js';

export interface RuntimeHandlers {
  /** Handler for `contrast-cc` (from --reference-values), or contrast-cc-unknown. */
  defaultHandler: string;
  /** Current handler per platform name. */
  handlerFor(platform: PlatformInfo): string;
}

/** The workload's platform (explicit class) or the default one; undefined for `contrast-cc` without default. */
export function workloadPlatform(
  w: Workload,
  defaultPlatform: PlatformInfo | undefined,
): PlatformInfo | undefined {
  const rc = runtimeClassName(w);
  if (rc === undefined) return undefined;
  return parseRuntimeClass(rc)?.platform ?? defaultPlatform;
}

/** A class that gets the default handler: `contrast-cc`, `kata-cc-isolation` (Go) and `contrast-ccc`… */
export function isDefaultRuntimeClass(rc: string): boolean {
  // `contrast-ccc`, `contrast-cc2`…: selected by the prefix, so it must not keep a class no node has.
  return (
    rc === 'kata-cc-isolation' ||
    (rc.startsWith(RUNTIME_CLASS_PREFIX) && !rc.startsWith(`${RUNTIME_CLASS_PREFIX}-`))
  );
}

/** Rewrites the runtime class; returns the new name. */
export function patchRuntimeClass(w: Workload, handlers: RuntimeHandlers): string | undefined {
  const rc = runtimeClassName(w);
  if (rc === undefined) return undefined;
  let next = rc;
  if (isDefaultRuntimeClass(rc)) {
    if (handlers.defaultHandler === UNKNOWN_HANDLER) {
      throw new ContrastError(`${describe(w)}: runtimeClassName "${rc}" needs a platform`, {
        code: 'NO_PLATFORM',
        hint: 'pass --reference-values <platform> or name the platform in the class (contrast-cc-metal-qemu-snp)',
      });
    }
    next = handlers.defaultHandler;
  } else {
    const parsed = parseRuntimeClass(rc);
    if (parsed) next = handlers.handlerFor(parsed.platform);
  }
  if (next !== rc) w.doc.setIn([...podSpecPath(w)!, 'runtimeClassName'], next);
  return next;
}

export { runtimeHandler };

/** Levenshtein distance, capped: returns `cap + 1` as soon as the distance must exceed `cap`. */
export function editDistance(a: string, b: string, cap = Infinity): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > cap) return cap + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Whether a runtime class that does NOT start with `prefix` looks like a typo of it: its beginning is
 * within edit distance 2 of the prefix (`contrat-cc`, `contrast_cc-…`, `Contrast-CC`), or it is a
 * Kata/genpolicy class (`kata-cc…`) where a Contrast class was probably meant.
 */
export function isRuntimeClassNearMiss(value: string, prefix: string): boolean {
  if (prefix === '' || value.startsWith(prefix)) return false;
  if (value.startsWith('kata-cc')) return true;
  const v = value.toLowerCase();
  for (let len = Math.max(1, prefix.length - 2); len <= Math.min(v.length, prefix.length + 2); len++) {
    if (editDistance(v.slice(0, len), prefix, 2) <= 2) return true;
  }
  return false;
}

/** Warnings for pods whose runtime class nearly matches `prefix`: file, resource and value. */
export function runtimeClassNearMisses(workloads: Workload[], prefix: string): string[] {
  const out: string[] = [];
  for (const w of workloads) {
    const rc = runtimeClassName(w);
    if (rc !== undefined && isRuntimeClassNearMiss(rc, prefix)) {
      out.push(
        `${describe(w)}: runtimeClassName "${rc}" does not start with "${prefix}": this pod gets no policy and ` +
          `is not treated as confidential; did you mean "${prefix}"?`,
      );
    }
  }
  return out;
}
