// Aggregates, arrays, sets, objects, types, numbers and bits builtins.
import { BuiltinError } from '../errors.js';
import { collectionError } from '../limits.js';
import { isInt, numOp } from '../numbers.js';
import {
  compare,
  equal,
  keyOf,
  normInt,
  RObject,
  RSet,
  stringifyValue,
  typeName,
  type Value,
} from '../value.js';
import { arr, def, fail, int, items, num, obj, set, str } from './registry.js';

// ---------------------------------------------------------------- aggregates
def('count', 1, ([a]) => {
  if (typeof a === 'string') return Array.from(a).length;
  if (Array.isArray(a)) return a.length;
  if (a instanceof RSet || a instanceof RObject) return a.size;
  throw new BuiltinError(
    `\`count\` requires array/object/set/string argument. Got \`${stringifyValue(a ?? null)}\` instead`,
  );
});
def('sum', 1, ([a]) => {
  let acc: number | bigint = 0;
  for (const x of items('sum', a)) acc = numOp('+', acc, num('sum', x));
  return acc;
});
def('product', 1, ([a]) => {
  let acc: number | bigint = 1;
  for (const x of items('product', a)) acc = numOp('*', acc, num('product', x));
  return acc;
});
def('max', 1, ([a]) => {
  const xs = items('max', a);
  if (xs.length === 0) return undefined;
  return xs.reduce((m, x) => (compare(x, m) > 0 ? x : m));
});
def('min', 1, ([a]) => {
  const xs = items('min', a);
  if (xs.length === 0) return undefined;
  return xs.reduce((m, x) => (compare(x, m) < 0 ? x : m));
});
def('sort', 1, ([a]) => [...items('sort', a)].sort(compare));

// ---------------------------------------------------------------- arrays
def('array.concat', 2, ([a, b]) => [...arr('array.concat', a), ...arr('array.concat', b)]);
def('array.reverse', 1, ([a]) => [...arr('array.reverse', a)].reverse());
def('array.slice', 3, ([a, b, c]) => {
  const xs = arr('array.slice', a);
  let s = Number(num('array.slice', b));
  let e = Number(num('array.slice', c));
  if (!Number.isInteger(s) || !Number.isInteger(e)) return undefined;
  if (s < 0) s = 0;
  if (e > xs.length) e = xs.length;
  if (s >= e) return [];
  return xs.slice(s, e);
});

// ---------------------------------------------------------------- sets
def('intersection', 1, ([a]) => {
  const sets = [...set('intersection', a).sortedValues()].map((s) => set('intersection', s));
  if (sets.length === 0) return new RSet();
  const out = new RSet();
  for (const [k, v] of sets[0]!.m) if (sets.every((s) => s.m.has(k))) out.m.set(k, v);
  return out;
});
def('union', 1, ([a]) => {
  const out = new RSet();
  for (const s of set('union', a).sortedValues()) for (const [k, v] of set('union', s).m) out.m.set(k, v);
  return out;
});

// ---------------------------------------------------------------- objects
def('object.get', 3, ([o, k, d]) => {
  if (Array.isArray(k)) {
    let cur: Value | undefined = o!;
    for (const seg of k) {
      cur = indexAny(cur, seg);
      if (cur === undefined) return d!;
    }
    return cur;
  }
  const x = obj('object.get', o);
  const v = x.get(k!);
  return v === undefined ? d! : v;
});
function indexAny(cur: Value | undefined, k: Value): Value | undefined {
  if (cur instanceof RObject) return cur.get(k);
  if (Array.isArray(cur)) return typeof k === 'number' && Number.isInteger(k) ? cur[k] : undefined;
  if (cur instanceof RSet) return cur.has(k) ? k : undefined;
  return undefined;
}
/** The keys named by the second argument of object.remove / object.filter: array, set or object keys. */
function keyList(name: string, ks: Value | undefined): Value[] {
  if (Array.isArray(ks)) return ks;
  if (ks instanceof RSet) return ks.sortedValues();
  if (ks instanceof RObject) return ks.sortedKeys();
  return fail(name, 'array/object/set', ks ?? null);
}
def('object.keys', 1, ([o]) => RSet.of(obj('object.keys', o).sortedKeys()));
def('object.remove', 2, ([o, ks]) => {
  const x = obj('object.remove', o).clone();
  const keys = keyList('object.remove', ks);
  for (const k of keys) x.delete(k);
  return x;
});
def('object.filter', 2, ([o, ks]) => {
  const x = obj('object.filter', o);
  const keys = keyList('object.filter', ks);
  const out = new RObject();
  for (const k of keys) {
    const v = x.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
});
function unionObjects(a: RObject, b: RObject): RObject {
  const out = a.clone();
  for (const [k, v] of b.m.values()) {
    const old = out.get(k);
    if (old instanceof RObject && v instanceof RObject) out.set(k, unionObjects(old, v));
    else out.set(k, v);
  }
  return out;
}
def('object.union', 2, ([a, b]) => unionObjects(obj('object.union', a), obj('object.union', b)));
def('object.union_n', 1, ([a]) => {
  let out = new RObject();
  for (const o of arr('object.union_n', a)) out = unionObjects(out, obj('object.union_n', o));
  return out;
});
def('object.subset', 2, ([a, b]) => isSubset(a!, b!));
function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof RObject && sub instanceof RObject) {
    for (const [k, v] of sub.m.values()) {
      const x = sup.get(k);
      if (x === undefined) return false;
      if (x instanceof RObject && v instanceof RObject) {
        if (!isSubset(x, v)) return false;
      } else if (!equal(x, v)) return false;
    }
    return true;
  }
  if (sup instanceof RSet && sub instanceof RSet) {
    for (const k of sub.m.keys()) if (!sup.m.has(k)) return false;
    return true;
  }
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (sub.length === 0) return true;
    outer: for (let i = 0; i + sub.length <= sup.length; i++) {
      for (let j = 0; j < sub.length; j++) if (!equal(sup[i + j]!, sub[j]!)) continue outer;
      return true;
    }
    return false;
  }
  if (Array.isArray(sup) && sub instanceof RSet)
    return sub.sortedValues().every((x) => sup.some((y) => equal(x, y)));
  return equal(sup, sub);
}

def('json.filter', 2, ([o, paths]) => {
  const x = obj('json.filter', o);
  const ps = pathList('json.filter', paths);
  return filterPaths(x, ps) ?? new RObject();
});
def('json.remove', 2, ([o, paths]) => {
  const x = obj('json.remove', o);
  const ps = pathList('json.remove', paths);
  let out: Value = x;
  for (const p of ps) out = removePath(out, p);
  return out;
});
function pathList(name: string, v: Value | undefined): Value[][] {
  const xs = Array.isArray(v) ? v : v instanceof RSet ? v.sortedValues() : fail(name, 'array/set', v ?? null);
  return xs.map((p) => {
    if (typeof p === 'string')
      return p
        .split('/')
        .filter((s) => s !== '')
        .map(unescapePointer);
    if (Array.isArray(p)) return p;
    return fail(name, 'string/array path', p);
  });
}
function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}
function filterPaths(v: Value, paths: Value[][]): Value | undefined {
  if (paths.some((p) => p.length === 0)) return v;
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.sortedEntries()) {
      const sub = paths.filter((p) => equal(p[0]!, k) || p[0] === keyText(k)).map((p) => p.slice(1));
      if (sub.length === 0) continue;
      const f = filterPaths(x, sub);
      if (f !== undefined) out.set(k, f);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const sub = paths.filter((p) => p[0] === String(i)).map((p) => p.slice(1));
      if (sub.length === 0) return;
      const f = filterPaths(x, sub);
      if (f !== undefined) out.push(f);
    });
    return out;
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const x of v.sortedValues()) {
      const sub = paths.filter((p) => equal(p[0]!, x)).map((p) => p.slice(1));
      if (sub.length === 0) continue;
      const f = filterPaths(x, sub);
      if (f !== undefined) out.add(f);
    }
    return out;
  }
  return undefined;
}
function keyText(k: Value): string {
  return typeof k === 'string' ? k : stringifyValue(k);
}
function removePath(v: Value, p: Value[]): Value {
  if (p.length === 0) return v;
  const [head, ...rest] = p;
  if (v instanceof RObject) {
    const key = v.has(head!) ? head! : typeof head === 'string' && v.has(Number(head)) ? Number(head) : head!;
    if (!v.has(key)) return v;
    const out = v.clone();
    if (rest.length === 0) out.delete(key);
    else out.set(key, removePath(v.get(key)!, rest));
    return out;
  }
  if (Array.isArray(v)) {
    const i = typeof head === 'number' ? head : Number(head);
    if (!Number.isInteger(i) || i < 0 || i >= v.length) return v;
    if (rest.length === 0) return v.filter((_, j) => j !== i);
    return v.map((x, j) => (j === i ? removePath(x, rest) : x));
  }
  if (v instanceof RSet) {
    if (!v.has(head!)) return v;
    if (rest.length === 0) return RSet.of(v.sortedValues().filter((x) => !equal(x, head!)));
  }
  return v;
}

// ---------------------------------------------------------------- types
def('is_number', 1, ([a]) => typeof a === 'number' || typeof a === 'bigint');
def('is_string', 1, ([a]) => typeof a === 'string');
def('is_boolean', 1, ([a]) => typeof a === 'boolean');
def('is_array', 1, ([a]) => Array.isArray(a));
def('is_set', 1, ([a]) => a instanceof RSet);
def('is_object', 1, ([a]) => a instanceof RObject);
def('is_null', 1, ([a]) => a === null);
def('type_name', 1, ([a]) => typeName(a!));

// ---------------------------------------------------------------- numbers
def('abs', 1, ([a]) => {
  const n = num('abs', a);
  return typeof n === 'bigint' ? (n < 0n ? normInt(-n) : n) : Math.abs(n);
});
def('round', 1, ([a]) => {
  const n = num('round', a);
  if (typeof n === 'bigint') return n;
  return Math.sign(n) * Math.round(Math.abs(n));
});
def('ceil', 1, ([a]) => {
  const n = num('ceil', a);
  return typeof n === 'bigint' ? n : Math.ceil(n);
});
def('floor', 1, ([a]) => {
  const n = num('floor', a);
  return typeof n === 'bigint' ? n : Math.floor(n);
});
def('plus', 2, ([a, b]) => numOp('+', num('plus', a), num('plus', b)));
def('minus', 2, ([a, b]) => {
  if (a instanceof RSet && b instanceof RSet) {
    const out = new RSet();
    for (const [k, v] of a.m) if (!b.m.has(k)) out.m.set(k, v);
    return out;
  }
  return numOp('-', num('minus', a), num('minus', b));
});
def('mul', 2, ([a, b]) => numOp('*', num('mul', a), num('mul', b)));
def('div', 2, ([a, b]) => numOp('/', num('div', a), num('div', b)));
def('rem', 2, ([a, b]) => numOp('%', num('rem', a), num('rem', b)));
def('numbers.range', 2, ([a, b], ctx) => {
  const x = num('numbers.range', a);
  const y = num('numbers.range', b);
  if (!isInt(x) || !isInt(y)) throw new BuiltinError('`numbers.range`: operand must be integer');
  const s = Number(x);
  const e = Number(y);
  // checked before allocating: a range of 1e9 numbers exhausts the heap (limits.ts)
  const size = Math.abs(e - s) + 1;
  if (size > ctx.maxCollection) throw collectionError(size, ctx.maxCollection, '`numbers.range`');
  const out: Value[] = [];
  if (s <= e) for (let i = s; i <= e; i++) out.push(i);
  else for (let i = s; i >= e; i--) out.push(i);
  return out;
});
def('numbers.range_step', 3, ([a, b, c], ctx) => {
  const s = int('numbers.range_step', a);
  const e = int('numbers.range_step', b);
  const st = int('numbers.range_step', c);
  if (st <= 0) throw new BuiltinError('`numbers.range_step` expects positive step');
  const size = Math.floor(Math.abs(e - s) / st) + 1;
  if (size > ctx.maxCollection) throw collectionError(size, ctx.maxCollection, '`numbers.range_step`');
  const out: Value[] = [];
  if (s <= e) for (let i = s; i <= e; i += st) out.push(i);
  else for (let i = s; i >= e; i -= st) out.push(i);
  return out;
});
// deterministic per (seed string, n) like OPA's per-query memoization
const randMemo = new Map<string, number>();
def('rand.intn', 2, ([a, b]) => {
  const key = str('rand.intn', a);
  const n = num('rand.intn', b);
  if (!isInt(n)) return undefined;
  const m = Math.abs(Number(n));
  if (m === 0) return 0;
  const mk = key + '\u0000' + m;
  let r = randMemo.get(mk);
  if (r === undefined) {
    r = Math.floor(Math.random() * m);
    randMemo.set(mk, r);
  }
  return r;
});

// ---------------------------------------------------------------- bits
function bigArg(name: string, v: Value | undefined): bigint {
  const n = num(name, v);
  if (!isInt(n))
    throw new BuiltinError(`\`${name}\` expects integer argument. Got \`${stringifyValue(n)}\` instead`);
  return BigInt(n);
}
def('bits.and', 2, ([a, b]) => normInt(bigArg('bits.and', a) & bigArg('bits.and', b)));
def('bits.or', 2, ([a, b]) => normInt(bigArg('bits.or', a) | bigArg('bits.or', b)));
def('bits.xor', 2, ([a, b]) => normInt(bigArg('bits.xor', a) ^ bigArg('bits.xor', b)));
def('bits.negate', 1, ([a]) => normInt(~bigArg('bits.negate', a)));
def('bits.lsh', 2, ([a, b]) => normInt(bigArg('bits.lsh', a) << bigArg('bits.lsh', b)));
def('bits.rsh', 2, ([a, b]) => normInt(bigArg('bits.rsh', a) >> bigArg('bits.rsh', b)));

// ---------------------------------------------------------------- misc
def('opa.runtime', 0, () => new RObject());
def('walk', 1, ([a]) => {
  const out: Value[] = [];
  const go = (path: Value[], v: Value): void => {
    out.push([path, v]);
    if (Array.isArray(v)) v.forEach((x, i) => go([...path, i], x));
    else if (v instanceof RObject) for (const [k, x] of v.sortedEntries()) go([...path, k], x);
    else if (v instanceof RSet) for (const x of v.sortedValues()) go([...path, x], x);
  };
  go([], a!);
  return out;
});

export { keyOf };
