// Lenient readers for policy data of unknown shape (ours, genpolicy's, older or newer versions):
// a field of the wrong type reads as empty instead of throwing, so explanation and review output
// degrade to "nothing listed" rather than failing on a policy they do not fully understand.

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Strings as they are, anything else as JSON text. */
export function strs(v: unknown): string[] {
  return arr(v).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}
