// json.patch on Rego values (RFC 6902 plus OPA's extensions: array-form paths and set members
// addressed by value). Any failing operation makes the result undefined.
import { equal, RObject, RSet, type Value } from '../value.js';
import { arr, def } from './registry.js';

class PatchError extends Error {}

function parsePath(p: Value | undefined): Value[] {
  if (Array.isArray(p)) return p;
  if (typeof p !== 'string') throw new PatchError('path');
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError('path');
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(seg: Value, len: number, forAdd: boolean): number {
  if (forAdd && seg === '-') return len;
  let i: number;
  if (typeof seg === 'number' && Number.isInteger(seg)) i = seg;
  else if (typeof seg === 'string' && /^(0|[1-9][0-9]*)$/.test(seg)) i = Number(seg);
  else throw new PatchError('index');
  if (i < 0 || i > (forAdd ? len : len - 1)) throw new PatchError('index');
  return i;
}

function getAt(doc: Value | undefined, path: Value[]): Value {
  let cur = doc;
  for (const seg of path) {
    if (cur instanceof RObject) cur = cur.get(seg);
    else if (Array.isArray(cur)) cur = cur[arrayIndex(seg, cur.length, false)];
    else if (cur instanceof RSet) cur = cur.has(seg) ? seg : undefined;
    else cur = undefined;
    if (cur === undefined) throw new PatchError('missing');
  }
  if (cur === undefined) throw new PatchError('missing');
  return cur;
}

type Leaf = (container: Value, last: Value) => Value;

/** rebuild the document along `path`, applying `leaf` to the parent of the last segment */
function update(doc: Value | undefined, path: Value[], leaf: Leaf, viaSet = true): Value {
  if (doc === undefined) throw new PatchError('missing');
  if (path.length === 1) return leaf(doc, path[0]!);
  const [seg, ...rest] = path;
  if (doc instanceof RObject) {
    const child = doc.get(seg!);
    if (child === undefined) throw new PatchError('missing');
    const out = doc.clone();
    out.set(seg!, update(child, rest, leaf, viaSet));
    return out;
  }
  if (Array.isArray(doc)) {
    const i = arrayIndex(seg!, doc.length, false);
    const out = doc.slice();
    out[i] = update(doc[i], rest, leaf, viaSet);
    return out;
  }
  if (doc instanceof RSet) {
    if (!viaSet || !doc.has(seg!)) throw new PatchError('missing');
    const out = RSet.of(doc.sortedValues().filter((x) => !equal(x, seg!)));
    out.add(update(seg!, rest, leaf, viaSet));
    return out;
  }
  throw new PatchError('missing');
}

function add(doc: Value | undefined, path: Value[], v: Value): Value {
  if (path.length === 0) return v;
  return update(doc, path, (c, last) => {
    if (c instanceof RObject) {
      const o = c.clone();
      o.set(last, v);
      return o;
    }
    if (Array.isArray(c)) {
      const i = arrayIndex(last, c.length, true);
      const out = c.slice();
      out.splice(i, 0, v);
      return out;
    }
    if (c instanceof RSet) {
      const s = RSet.of(c.sortedValues());
      s.add(v);
      return s;
    }
    throw new PatchError('container');
  });
}

function remove(doc: Value | undefined, path: Value[]): Value | undefined {
  if (path.length === 0) return undefined;
  return update(doc, path, (c, last) => {
    if (c instanceof RObject) {
      if (!c.has(last)) throw new PatchError('missing');
      const o = c.clone();
      o.delete(last);
      return o;
    }
    if (Array.isArray(c)) {
      const i = arrayIndex(last, c.length, false);
      return c.filter((_, j) => j !== i);
    }
    if (c instanceof RSet) {
      if (!c.has(last)) throw new PatchError('missing');
      return RSet.of(c.sortedValues().filter((x) => !equal(x, last)));
    }
    throw new PatchError('container');
  });
}

function replace(doc: Value | undefined, path: Value[], v: Value): Value {
  if (path.length === 0) return v;
  return update(
    doc,
    path,
    (c, last) => {
      if (c instanceof RObject) {
        if (!c.has(last)) throw new PatchError('missing');
        const o = c.clone();
        o.set(last, v);
        return o;
      }
      if (Array.isArray(c)) {
        const i = arrayIndex(last, c.length, false);
        const out = c.slice();
        out[i] = v;
        return out;
      }
      throw new PatchError('container');
    },
    false,
  );
}

function jsonPatch(doc: Value, ops: Value[]): Value | undefined {
  let cur: Value | undefined = doc;
  try {
    for (const op of ops) {
      if (!(op instanceof RObject)) return undefined;
      const kind = op.getStr('op');
      const path = parsePath(op.getStr('path'));
      switch (kind) {
        case 'add': {
          const v = op.getStr('value');
          if (v === undefined) return undefined;
          cur = add(cur, path, v);
          break;
        }
        case 'remove':
          cur = remove(cur, path);
          break;
        case 'replace': {
          const v = op.getStr('value');
          if (v === undefined) return undefined;
          cur = replace(cur, path, v);
          break;
        }
        case 'move': {
          const from = parsePath(op.getStr('from'));
          const v = getAt(cur, from);
          cur = add(remove(cur, from), path, v);
          break;
        }
        case 'copy': {
          const from = parsePath(op.getStr('from'));
          cur = add(cur, path, getAt(cur, from));
          break;
        }
        case 'test': {
          const v = op.getStr('value');
          if (v === undefined || !equal(getAt(cur, path), v)) return undefined;
          break;
        }
        default:
          return undefined;
      }
    }
  } catch (e) {
    if (e instanceof PatchError) return undefined;
    throw e;
  }
  return cur;
}

def('json.patch', 2, ([o, ops]) => jsonPatch(o!, arr('json.patch', ops)));
