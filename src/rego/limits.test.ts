// Resource limits (limits.ts) and the compile-time recursion check (recursion.ts): each case ends in a
// clean RegoLimitError/RegoParseError, never in a V8 heap or stack failure. The cases that would take
// the whole process down run in a child process in test/policy-eval-limits.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, Engine, RegoLimitError, RegoParseError, type EvalLimits } from './index.js';

function engine(src: string, limits: EvalLimits = {}): Engine {
  // non-strict, as the agent runs: limits must abort even where builtin errors turn undefined
  const e = new Engine({ strictBuiltinErrors: false, limits });
  e.addPolicy('t.rego', src);
  return e;
}

function limitError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RegoLimitError, `expected RegoLimitError, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test('default limits', () => {
  assert.deepEqual(
    { ...DEFAULT_LIMITS },
    {
      maxSteps: 20_000_000,
      maxCollectionSize: 1_000_000,
      maxCallDepth: 100,
      maxNesting: 1_000,
      timeoutMs: 0,
      timeCheckInterval: 1_000,
    },
  );
  assert.throws(() => new Engine({ limits: { maxSteps: 0 } }), /maxSteps must be an integer of at least 1/);
});

test('numbers.range and numbers.range_step refuse ranges beyond the collection limit before allocating', () => {
  const e = engine(
    'package t\nimport rego.v1\nr := count(numbers.range(1, 1000000000))\ns := count(numbers.range_step(0, 1e12, 10))\nok := count(numbers.range(1, 1000000))',
  );
  limitError(
    () => e.evalRule('data.t.r'),
    /^t\.rego:3:12: error: `numbers.range` would have 1000000000 elements, more than the limit of 1000000 \(maxCollectionSize; raise it with --max-collection\)$/,
  );
  limitError(() => e.evalRule('data.t.s'), /`numbers.range_step` would have 100000000001 elements/);
  assert.equal(e.evalRule('data.t.ok'), 1_000_000);
});

test('comprehensions, partial rules and builtin results stop at the collection limit', () => {
  const src = `package t
import rego.v1
arr := [x | some x in input.xs]
st := {x | some x in input.xs}
ob := {x: 1 | some x in input.xs}
part contains x if some x in input.xs
big := array.concat(numbers.range(1, 8), numbers.range(1, 8))
fits := count([x | some x in numbers.range(1, 10)])
`;
  const e = engine(src, { maxCollectionSize: 10 });
  e.setInput({ xs: Array.from({ length: 50 }, (_, i) => i) });
  limitError(
    () => e.evalRule('data.t.arr'),
    /^t\.rego:3:8: error: an array comprehension would have 11 elements, more than the limit of 10 \(maxCollectionSize; raise it with --max-collection\)$/,
  );
  limitError(() => e.evalRule('data.t.st'), /a set comprehension would have 11 elements/);
  limitError(() => e.evalRule('data.t.ob'), /an object comprehension would have 11 elements/);
  limitError(() => e.evalRule('data.t.part'), /the set rule data\.t\.part would have 11 elements/);
  limitError(() => e.evalRule('data.t.big'), /the result of `array.concat` would have 16 elements/);
  assert.equal(e.evalRule('data.t.fits'), 10);
});

test('evaluation steps are bounded, also by the elements builtins return', () => {
  const src = `package t
import rego.v1
r := count([1 | some x in numbers.range(1, 1000); some y in numbers.range(1, 1000); x == y])
small := count([1 | some x in numbers.range(1, 10); some y in numbers.range(1, 10); x == y])
`;
  const e = engine(src, { maxSteps: 10_000 });
  limitError(
    () => e.evalRule('data.t.r'),
    /evaluation exceeded the limit of 10000 steps \(maxSteps; raise it with --max-steps\)$/,
  );
  // the budget is per query: a later small query runs
  assert.equal(e.evalRule('data.t.small'), 10);
  // with the default limit the big one runs
  assert.equal(engine(src).evalRule('data.t.r'), 1000);
});

test('time limit: regorus wording, checked every timeCheckInterval steps on the given clock', () => {
  let clock = 0;
  const e = engine('package t\nimport rego.v1\nr := count([x | some x in numbers.range(1, 100)])', {
    timeoutMs: 50,
    timeCheckInterval: 1,
    now: () => (clock += 1),
  });
  limitError(
    () => e.evalRule('data.t.r'),
    /^execution exceeded time limit \(elapsed 51 ms, limit 50 ms; raise it with --timeout\)$/,
  );
  clock = 0;
  const relaxed = engine('package t\nimport rego.v1\nr := count([x | some x in numbers.range(1, 100)])', {
    timeoutMs: 100_000,
    timeCheckInterval: 1,
    now: () => (clock += 1),
  });
  assert.equal(relaxed.evalRule('data.t.r'), 100);
});

test('rule and function call depth is bounded', () => {
  const chain = Array.from({ length: 12 }, (_, i) => `f${i}(x) := f${i + 1}(x) + 1`).join('\n');
  const src = `package t\n${chain}\nf12(x) := x\nr := f0(0)\n`;
  limitError(
    () => engine(src, { maxCallDepth: 5 }).evalRule('data.t.r'),
    /^t\.rego:\d+:1: error: rule and function calls nested deeper than 5 levels at data\.t\.f\d+ \(maxCallDepth; raise it with --max-depth\)$/,
  );
  assert.equal(engine(src).evalRule('data.t.r'), 12);
  // recursion the compiler cannot see: a function replaced by one that calls it (`with`)
  const mocked = engine(
    'package t\nimport rego.v1\nf(x) := g(x) + 1\ng(x) := x\nr := y if { y := f(1) with g as f }\n',
  );
  limitError(() => mocked.evalRule('data.t.r'), /nested deeper than 100 levels at data\.t\.f/);
});

test('strings beyond what JavaScript can hold are a clean error', () => {
  const tenfold = (a: string, b: string): string => `${b} := concat("", [${Array(10).fill(a).join(', ')}])`;
  const names = 'abcdefghij'.split('');
  const body = names
    .slice(1)
    .map((n, i) => tenfold(names[i]!, n))
    .join('; ');
  const e = engine(`package t\nimport rego.v1\nr := n if { a := "0123456789"; ${body}; n := count(j) }\n`);
  limitError(
    () => e.evalRule('data.t.r'),
    /^evaluation: a value grew beyond what JavaScript can hold \(Invalid string length\)$/,
  );
});

test('documents nested beyond the limit are refused, even a million levels deep', () => {
  // built without recursion: JSON.parse and our converter must not be what overflows
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  const e = engine('package t\nr := input');
  limitError(
    () => e.setInput(deep),
    /^input: document nested deeper than 1000 levels \(maxNesting; raise it with --max-nesting\)$/,
  );
  limitError(() => e.setData({ a: deep }), /^data: document nested deeper than 1000 levels/);
  let ok: unknown = 1;
  for (let i = 0; i < 999; i++) ok = [ok];
  e.setInput(ok);
  assert.deepEqual(e.evalRule('data.t.r'), ok);
  // json.unmarshal of a deep text is undefined (the agent's serde_json refuses it too)
  const u = engine('package t\nr := json.unmarshal(input.s)');
  u.setInput({ s: '['.repeat(5000) + ']'.repeat(5000) });
  assert.equal(u.evalRule('data.t.r'), undefined);
});

test('source nested too deeply for the stack is a clean error', () => {
  const deep = 'package t\nr := ' + '['.repeat(200_000) + ']'.repeat(200_000) + '\n';
  limitError(() => engine(deep), /^t\.rego: the policy is nested too deeply for the JavaScript stack$/);
});

test("recursion is refused at compile time with OPA's rego_recursion_error text", () => {
  const fails = (src: string, message: string): void =>
    assert.throws(
      () => engine(src),
      (err: unknown) => {
        assert.ok(err instanceof RegoParseError);
        assert.equal((err as Error).message, message);
        return true;
      },
    );
  // OPA (docs "rego_recursion_error: rule {name} is recursive"):
  //   policy.rego:3: rego_recursion_error: rule data.policy.rule_a is recursive: data.policy.rule_a -> data.policy.rule_b -> data.policy.rule_a
  fails(
    'package policy\n\nrule_a := rule_b\n\nrule_b := rule_a\n',
    'policy.rego:3:1: error: rego_recursion_error: rule data.policy.rule_a is recursive: data.policy.rule_a -> data.policy.rule_b -> data.policy.rule_a (recursion detected when compiling)'.replace(
      'policy.rego',
      't.rego',
    ),
  );
  // a function calling itself with other arguments (used to overflow the stack)
  fails(
    'package p\nimport rego.v1\nf(n) := 0 if n <= 0\nf(n) := f(n - 1) + 1 if n > 0\nr := f(100000)\n',
    't.rego:3:1: error: rego_recursion_error: rule data.p.f is recursive: data.p.f -> data.p.f (recursion detected when compiling)',
  );
  // a reference with a variable reads every rule below its constant prefix, as in OPA
  fails(
    'package p\nimport rego.v1\nx := 1\ny := v if { some k; v := data.p[k] }\n',
    't.rego:4:1: error: rego_recursion_error: rule data.p.y is recursive: data.p.y -> data.p.y (recursion detected when compiling)',
  );
  // not recursive: constant references elsewhere, `with` targets, number keys naming other rules
  const e = engine(
    'package p\nimport rego.v1\na := b + 1\nb := 2\nc := x if { x := a with b as 5 }\nd := data.q.z\n',
  );
  e.addPolicy('q.rego', 'package q\nz := data.p.b');
  assert.deepEqual(e.evalRule('data.p'), { a: 3, b: 2, c: 6, d: 2 });
});
