// Runtime-class patching (contrast-generate.md §5): `contrast-cc` and `kata-cc-isolation` become the
// default handler, `contrast-cc-<platform>[-hash]` becomes that platform's current handler, anything
// else is left alone.
import { ContrastError } from '../internal/errors.js';
import {
  parseRuntimeClass,
  runtimeHandler,
  UNKNOWN_HANDLER,
  type PlatformInfo,
} from '../manifest/platforms.js';
import { describe, podSpecPath, runtimeClassName, type PodWorkload } from './inject-pod.js';

export interface RuntimeHandlers {
  /** Handler for `contrast-cc` (from --reference-values), or contrast-cc-unknown. */
  defaultHandler: string;
  /** Current handler per platform name. */
  handlerFor(platform: PlatformInfo): string;
}

/** The workload's platform (explicit class) or the default one; undefined for `contrast-cc` without default. */
export function workloadPlatform(
  w: PodWorkload,
  defaultPlatform: PlatformInfo | undefined,
): PlatformInfo | undefined {
  const rc = runtimeClassName(w);
  if (rc === undefined) return undefined;
  return parseRuntimeClass(rc)?.platform ?? defaultPlatform;
}

/** Rewrites the runtime class; returns the new name. */
export function patchRuntimeClass(w: PodWorkload, handlers: RuntimeHandlers): string | undefined {
  const rc = runtimeClassName(w);
  if (rc === undefined) return undefined;
  let next = rc;
  if (rc === 'contrast-cc' || rc === 'kata-cc-isolation') {
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
