// Hidden flags --reference-value-patches / --purge-empty-reference-values: RFC 6902 patches applied
// to every SNP/TDX set of a newly created manifest; a failing `test` op means "not for this set".
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { validateSnp, validateTdx, type ReferenceValues } from './referencevalues.js';
import { readTextInput } from '../internal/files.js';

export async function readReferenceValuePatches(paths: string[]): Promise<Operation[][]> {
  const out: Operation[][] = [];
  for (const p of paths) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readTextInput(p, 'reference value patches'));
    } catch (err) {
      if (err instanceof ContrastError) throw err;
      throw new ContrastError(`--reference-value-patches ${p}: ${errorMessage(err)}`, { code: 'BAD_PATCH' });
    }
    if (!Array.isArray(parsed))
      throw new ContrastError(`--reference-value-patches ${p}: expected a JSON array of patch operations`, {
        code: 'BAD_PATCH',
      });
    // Each element may be one patch (an array of ops) or a single op; group single ops into one patch.
    const ops = parsed.filter((x) => !Array.isArray(x)) as Operation[];
    const nested = parsed.filter((x) => Array.isArray(x)) as Operation[][];
    if (ops.length) out.push(ops);
    out.push(...nested);
  }
  return out;
}

function patchOne<T>(value: T, patch: Operation[]): T {
  const copy = structuredClone(value);
  try {
    return fastJsonPatch.applyPatch(copy, patch, true, true).newDocument;
  } catch (err) {
    if (err instanceof fastJsonPatch.JsonPatchError && err.name === 'TEST_OPERATION_FAILED') return value;
    throw new ContrastError(`applying reference value patch: ${errorMessage(err)}`, { code: 'BAD_PATCH' });
  }
}

export function applyReferenceValuePatches(rv: ReferenceValues, patches: Operation[][]): ReferenceValues {
  let out = rv;
  for (const p of patches) {
    out = {
      ...(out.snp ? { snp: out.snp.map((s) => patchOne(s, p)) } : {}),
      ...(out.tdx ? { tdx: out.tdx.map((t) => patchOne(t, p)) } : {}),
    };
  }
  return out;
}

/** Drops sets whose only problems are values the user is expected to fill in. */
export function purgeEmptyReferenceValues(rv: ReferenceValues): ReferenceValues {
  const keep = (issues: ReturnType<typeof validateSnp>): boolean =>
    !(issues.length > 0 && issues.every((i) => i.expectedMissing));
  const snp = (rv.snp ?? []).filter((s) => keep(validateSnp(s, '')));
  const tdx = (rv.tdx ?? []).filter((t) => keep(validateTdx(t, '')));
  return { ...(snp.length ? { snp } : {}), ...(tdx.length ? { tdx } : {}) };
}
