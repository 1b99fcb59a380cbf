// Rego values. Scalars are plain JS values (integers beyond 2^53 become bigint so arithmetic stays
// exact, as regorus does); arrays are JS arrays; objects and sets are classes keyed by a canonical
// string so that any value can be a key and equal values collapse. Iteration is in Rego's sorted order.

import { DEFAULT_LIMITS, nestingError } from './limits.js';

export type Value = null | boolean | number | bigint | string | Value[] | RObject | RSet;

const CANON_STYLE = { sep: ',', colon: ':', setOpen: '<', setClose: '>' };
const JSON_LIKE_STYLE = { sep: ', ', colon: ': ', setOpen: '{', setClose: '}' };

/** Canonical key: strings map to themselves, everything else to a tagged canonical text. */
export function keyOf(v: Value): string {
  return typeof v === 'string' ? v : '\u0000' + canon(v);
}

function canon(v: Value): string {
  if (v === null) return 'n';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'number':
      return 'd' + String(v);
    case 'bigint':
      return 'd' + v.toString();
    case 'string':
      return 's' + JSON.stringify(v);
  }
  return compositeText(v, canon, CANON_STYLE) ?? '';
}

/**
 * Text of an array, set or object with `item` for each element, sets and objects in sorted order;
 * undefined for scalars. The default style is regorus' print/sprintf form (`[1, 2]`, `{"a": 1}`).
 */
export function compositeText(
  v: Value,
  item: (x: Value) => string,
  style: typeof JSON_LIKE_STYLE = JSON_LIKE_STYLE,
): string | undefined {
  if (Array.isArray(v)) return '[' + v.map(item).join(style.sep) + ']';
  if (v instanceof RSet) return style.setOpen + v.sortedValues().map(item).join(style.sep) + style.setClose;
  if (v instanceof RObject) {
    const entries = v.sortedEntries().map(([k, x]) => item(k) + style.colon + item(x));
    return '{' + entries.join(style.sep) + '}';
  }
  return undefined;
}

export class RSet {
  readonly m = new Map<string, Value>();
  private sorted: Value[] | null = null;
  static of(items: Iterable<Value>): RSet {
    const s = new RSet();
    for (const i of items) s.add(i);
    return s;
  }
  add(v: Value): void {
    const k = keyOf(v);
    if (!this.m.has(k)) {
      this.m.set(k, v);
      this.sorted = null;
    }
  }
  has(v: Value): boolean {
    return this.m.has(keyOf(v));
  }
  get size(): number {
    return this.m.size;
  }
  sortedValues(): Value[] {
    if (!this.sorted) this.sorted = [...this.m.values()].sort(compare);
    return this.sorted;
  }
}

export class RObject {
  readonly m = new Map<string, [Value, Value]>();
  private sorted: [Value, Value][] | null = null;
  static fromEntries(entries: Iterable<[Value, Value]>): RObject {
    const o = new RObject();
    for (const [k, v] of entries) o.set(k, v);
    return o;
  }
  set(k: Value, v: Value): void {
    const key = keyOf(k);
    if (!this.m.has(key)) this.sorted = null;
    this.m.set(key, [k, v]);
  }
  get(k: Value): Value | undefined {
    return this.m.get(keyOf(k))?.[1];
  }
  getStr(k: string): Value | undefined {
    return this.m.get(k)?.[1];
  }
  has(k: Value): boolean {
    return this.m.has(keyOf(k));
  }
  delete(k: Value): void {
    if (this.m.delete(keyOf(k))) this.sorted = null;
  }
  get size(): number {
    return this.m.size;
  }
  sortedEntries(): [Value, Value][] {
    if (!this.sorted) this.sorted = [...this.m.values()].sort((a, b) => compare(a[0], b[0]));
    return this.sorted;
  }
  sortedKeys(): Value[] {
    return this.sortedEntries().map((e) => e[0]);
  }
  clone(): RObject {
    const o = new RObject();
    for (const [key, e] of this.m) o.m.set(key, e);
    return o;
  }
}

function typeRank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
  }
  if (Array.isArray(v)) return 4;
  if (v instanceof RSet) return 5;
  return 6;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  // mixed: compare mathematically
  const an = Number(a);
  const bn = Number(b);
  if (an !== bn) return an < bn ? -1 : 1;
  return 0;
}

/** Total order over values (regorus: null < bool < number < string < array < set < object). */
export function compare(a: Value, b: Value): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a ? 1 : -1;
    case 2:
      return compareNumbers(a as number | bigint, b as number | bigint);
    case 3:
      return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
    case 4: {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c) return c;
      }
      return x.length - y.length;
    }
    case 5: {
      const x = (a as RSet).sortedValues();
      const y = (b as RSet).sortedValues();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c) return c;
      }
      return x.length - y.length;
    }
    default: {
      const x = (a as RObject).sortedEntries();
      const y = (b as RObject).sortedEntries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const [ka, va] = x[i] as [Value, Value];
        const [kb, vb] = y[i] as [Value, Value];
        const c = compare(ka, kb) || compare(va, vb);
        if (c) return c;
      }
      return x.length - y.length;
    }
  }
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta === 'string' || ta === 'boolean' || a === null || b === null) return false;
  // Composites without sorting: sizes first, then members by canonical key (a key missing from the
  // other side falls back to the ordering, which decides mixed number representations).
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i]!, b[i]!)) return false;
    return true;
  }
  if (a instanceof RSet) {
    if (!(b instanceof RSet) || a.m.size !== b.m.size) return false;
    for (const key of a.m.keys()) if (!b.m.has(key)) return compare(a, b) === 0;
    return true;
  }
  if (a instanceof RObject) {
    if (!(b instanceof RObject) || a.m.size !== b.m.size) return false;
    for (const [key, ea] of a.m) {
      const eb = b.m.get(key);
      if (eb === undefined) return compare(a, b) === 0;
      if (!equal(ea[1], eb[1])) return false;
    }
    return true;
  }
  return compare(a, b) === 0;
}

/** Keep the invariant: bigint only outside the safe-integer range. */
export function normInt(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

export function isObject(v: Value | undefined): v is RObject {
  return v instanceof RObject;
}

export function typeName(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
  }
  if (Array.isArray(v)) return 'array';
  if (v instanceof RSet) return 'set';
  return 'object';
}

/** JSON (plain JS) -> Value. Big integers should arrive as bigint (e.g. yaml intAsBigInt). */
export function fromJSON(j: unknown, maxNesting: number = DEFAULT_LIMITS.maxNesting): Value {
  return fromJSONAt(j, maxNesting, maxNesting);
}

// `left`: how many more levels of arrays/objects may follow (deep documents would exhaust the stack)
function fromJSONAt(j: unknown, left: number, limit: number): Value {
  if (j === null || j === undefined) return null;
  switch (typeof j) {
    case 'boolean':
    case 'string':
      return j;
    case 'number':
      return Object.is(j, -0) ? 0 : j;
    case 'bigint':
      return normInt(j);
  }
  if (j instanceof RObject || j instanceof RSet) return j;
  if (left <= 0) throw nestingError(limit);
  if (Array.isArray(j)) {
    const out: Value[] = new Array<Value>(j.length);
    for (let i = 0; i < j.length; i++) out[i] = fromJSONAt(j[i], left - 1, limit);
    return out;
  }
  const o = new RObject();
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) o.set(k, fromJSONAt(v, left - 1, limit));
  return o;
}

/**
 * Value -> JSON. Sets become arrays in sorted order (as OPA and regorus serialize them); object keys
 * that are not strings are serialized as their JSON text. Big integers stay bigint (use
 * `stringifyValue` for text).
 */
export function toJSON(v: Value): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toJSON);
  if (v instanceof RSet) return v.sortedValues().map(toJSON);
  const out: Record<string, unknown> = {};
  for (const [k, x] of v.sortedEntries()) out[typeof k === 'string' ? k : stringifyValue(k)] = toJSON(x);
  return out;
}

/** Compact JSON text of a value (sets as arrays, keys sorted, big integers exact). */
export function stringifyValue(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(stringifyValue).join(',') + ']';
  if (v instanceof RSet) return '[' + v.sortedValues().map(stringifyValue).join(',') + ']';
  return (
    '{' +
    v
      .sortedEntries()
      .map(
        ([k, x]) => JSON.stringify(typeof k === 'string' ? k : stringifyValue(k)) + ':' + stringifyValue(x),
      )
      .join(',') +
    '}'
  );
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  return String(n);
}

/** Text used in error messages and print(): strings raw for print, quoted for errors. */
export function displayValue(v: Value | undefined): string {
  if (v === undefined) return 'undefined';
  if (v instanceof RSet) return '{' + v.sortedValues().map(stringifyValue).join(', ') + '}';
  return stringifyValue(v);
}

/**
 * JSON.stringify for values returned by the engine: integers beyond 2^53 arrive as bigint and are
 * written as exact JSON numbers (JSON.stringify alone throws on bigint).
 */
export function jsonStringify(j: unknown, indent?: number | string): string {
  const marks = new Map<string, string>();
  let n = 0;
  const text = JSON.stringify(
    j,
    (_k, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      const mark = `\u0000big${n++}\u0000`;
      marks.set(mark, v.toString());
      return mark;
    },
    indent,
  );
  if (text === undefined || marks.size === 0) return text as string;
  return text.replace(/"\\u0000big\d+\\u0000"/g, (m) => marks.get(JSON.parse(m) as string) ?? m);
}
