import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compare, equal, fromJSON, RSet, type Value } from './value.js';

// equal() compares composites by size and canonical keys instead of sorting: it must agree with
// the total order everywhere.
const small = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('a', 'b', '1'),
);
const json = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    small,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('v'), { maxKeys: 3 }),
  ),
})).v;

function withSets(v: Value, asSet: boolean): Value {
  // arrays become sets on one flag so set equality is exercised too
  if (Array.isArray(v))
    return asSet ? RSet.of(v.map((x) => withSets(x, asSet))) : v.map((x) => withSets(x, asSet));
  return v;
}

test('equal agrees with compare on arrays, sets, objects and scalars', () => {
  fc.assert(
    fc.property(json, json, fc.boolean(), (a, b, asSet) => {
      const x = withSets(fromJSON(a), asSet);
      const y = withSets(fromJSON(b), asSet);
      assert.equal(equal(x, y), compare(x, y) === 0);
      const x2 = withSets(fromJSON(structuredClone(a)), asSet);
      assert.equal(equal(x, x2), true);
    }),
    { numRuns: 3000 },
  );
});

test('equal: sets and objects of the same size with different members differ', () => {
  assert.equal(equal(RSet.of([1, 2]), RSet.of([1, 3])), false);
  assert.equal(equal(fromJSON({ a: 1, b: 2 }), fromJSON({ a: 1, c: 2 })), false);
  assert.equal(equal(fromJSON({ a: 1, b: 2 }), fromJSON({ b: 2, a: 1 })), true);
  assert.equal(equal(fromJSON([1, [2]]), fromJSON([1, [3]])), false);
});
