// The text helpers behind explaining a failed `every` (no engine needed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callArguments, functionParams, isPackageRule, unknownNames } from '../src/policyeval/every.js';

const policy = `package agent_policy

default allow := false

helper(a, b) if {
	a == b
}

helper(a, _) if a == "x"

items := ["a", "b"]
names contains n if some n in items
`;

describe('every explain helpers', () => {
  it('splits top-level call arguments, respecting nesting and strings', () => {
    assert.deepEqual(callArguments('helper(p.OCI, f(x, y), "a,(b")', 'helper'), [
      'p.OCI',
      'f(x, y)',
      '"a,(b"',
    ]);
    assert.deepEqual(callArguments('not other.helper(x)', 'helper'), undefined);
    assert.deepEqual(callArguments('x := helper()', 'helper'), []);
  });

  it('finds the parameters of the function head above a line', () => {
    assert.deepEqual(functionParams(policy, 'helper', 6), ['a', 'b']);
    assert.deepEqual(functionParams(policy, 'helper', 9), ['a', '_']);
    assert.equal(functionParams(policy, 'missing', 9), undefined);
  });

  it('knows package rules and reports names the body reads that nothing binds', () => {
    assert.ok(isPackageRule(policy, 'items'));
    assert.ok(isPackageRule(policy, 'names'));
    assert.ok(isPackageRule(policy, 'allow'));
    assert.ok(!isPackageRule(policy, 'nothing'));
    const known = new Set(['env', 'p']);
    assert.deepEqual(unknownNames('env_allowed(env, p.Env)', known, policy), []);
    assert.deepEqual(unknownNames('i_anno[key] == value', new Set(['key', 'value']), policy), ['i_anno']);
    assert.deepEqual(unknownNames('x := p.a; x in items; regex.match("i_anno", env)', known, policy), []);
  });
});
