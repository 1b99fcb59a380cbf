// Applies the line changes between two renderings of a document to its original text, so that an
// edit made through the document model touches only the lines it changed. Returns undefined when a
// change cannot be placed unambiguously; the caller then falls back to re-rendering.

/** Largest LCS table we build (cells); beyond that, the caller re-renders. */
const MAX_CELLS = 30_000_000;

export function spliceLineDiff(source: string, before: string, after: string): string | undefined {
  const S = source.split('\n');
  const B = before.split('\n');
  const A = after.split('\n');
  const toSource = matchLines(B, S);
  const edits = matchLines(B, A);
  if (!toSource || !edits) return undefined;

  // Hunks between consecutive matched (before, after) pairs, applied to the source from the end so
  // earlier indices stay valid.
  const pairs: Array<[number, number]> = [[-1, -1]];
  for (let i = 0; i < B.length; i++) {
    const j = edits[i];
    if (j !== undefined && j >= 0) pairs.push([i, j]);
  }
  pairs.push([B.length, A.length]);
  const out = S.slice();
  for (let k = pairs.length - 1; k > 0; k--) {
    const [pi, pj] = pairs[k - 1]!;
    const [ni, nj] = pairs[k]!;
    const delFrom = pi + 1;
    const delTo = ni; // exclusive
    const inserted = A.slice(pj + 1, nj);
    if (delFrom === delTo && inserted.length === 0) continue;
    if (delFrom < delTo) {
      const first = toSource[delFrom];
      if (first === undefined || first < 0) return undefined;
      for (let i = delFrom; i < delTo; i++) if (toSource[i] !== first + (i - delFrom)) return undefined;
      out.splice(first, delTo - delFrom, ...inserted);
    } else {
      // Pure insertion between before-lines pi and ni: both neighbours must be adjacent in the source.
      const prev = pi >= 0 ? toSource[pi] : -1;
      const next = ni < B.length ? toSource[ni] : S.length;
      if (prev === undefined || next === undefined || (pi >= 0 && prev < 0) || (ni < B.length && next < 0))
        return undefined;
      if (next !== prev + 1) return undefined;
      out.splice(prev + 1, 0, ...inserted);
    }
  }
  return out.join('\n');
}

/** For each line of `a`, the index of its partner in `b` under a longest common subsequence, or -1. */
function matchLines(a: string[], b: string[]): number[] | undefined {
  const res = new Array<number>(a.length).fill(-1);
  let lo = 0;
  while (lo < a.length && lo < b.length && a[lo] === b[lo]) {
    res[lo] = lo;
    lo++;
  }
  let hiA = a.length;
  let hiB = b.length;
  while (hiA > lo && hiB > lo && a[hiA - 1] === b[hiB - 1]) {
    hiA--;
    hiB--;
    res[hiA] = hiB;
  }
  const n = hiA - lo;
  const m = hiB - lo;
  if (n === 0 || m === 0) return res;
  if ((n + 1) * (m + 1) > MAX_CELLS) return undefined;
  const w = m + 1;
  const t = new Int32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      t[i * w + j] =
        a[lo + i] === b[lo + j]
          ? t[(i + 1) * w + j + 1]! + 1
          : Math.max(t[(i + 1) * w + j]!, t[i * w + j + 1]!);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[lo + i] === b[lo + j]) {
      res[lo + i] = lo + j;
      i++;
      j++;
    } else if (t[(i + 1) * w + j]! >= t[i * w + j + 1]!) i++;
    else j++;
  }
  return res;
}
