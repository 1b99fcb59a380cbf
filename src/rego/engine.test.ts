// Language-feature tests for our Rego engine, through its public API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContrastError } from '../internal/errors.js';
import { Engine, jsonStringify, RegoEvalError, RegoParseError } from './index.js';

function run(
  src: string,
  rule = 'data.test',
  opts: { input?: unknown; data?: unknown; strict?: boolean; v1?: boolean } = {},
): unknown {
  const e = new Engine({ strictBuiltinErrors: opts.strict ?? false, regoV1: opts.v1 ?? false });
  e.addPolicy('test.rego', src);
  if (opts.data !== undefined) e.setData(opts.data);
  if (opts.input !== undefined) e.setInput(opts.input);
  return e.evalRule(rule);
}

test('complete rules, defaults and undefined vs false', () => {
  const src = `package test
default allow := false
allow if input.user == "admin"
deny { input.user == "eve" }
`;
  assert.equal(run(src, 'data.test.allow', { input: { user: 'admin' } }), true);
  assert.equal(run(src, 'data.test.allow', { input: { user: 'bob' } }), false);
  assert.equal(run(src, 'data.test.deny', { input: { user: 'bob' } }), undefined);
  assert.deepEqual(run(src, 'data.test', { input: { user: 'bob' } }), { allow: false });
});

test('partial set and object rules, ref heads with several keys', () => {
  const src = `package test
import rego.v1
names contains n if some n in ["a", "b", "a"]
by_len[n] := count(n) if some n in ["xy", "z"]
tree[a][b] := 1 if { some a in ["p", "q"]; some b in ["r"] }
deep.er.value := 3
`;
  assert.deepEqual(run(src), {
    names: ['a', 'b'],
    by_len: { xy: 2, z: 1 },
    tree: { p: { r: 1 }, q: { r: 1 } },
    deep: { er: { value: 3 } },
  });
  // Rego v0: `p[x] { ... }` is a partial set
  assert.deepEqual(run('package test\nold[x] { x := [1, 2][_] }'), { old: [1, 2] });
});

test('functions with several definitions, else chains and conflicts', () => {
  const src = `package test
f(x) := "small" if x < 10
f(x) := "big" if x >= 10
g(x) := 1 if { x == 1 } else := 2 if { x == 2 } else := 3
h(x) := x + 1
h(x) := x + 2
a := [f(1), f(100), g(1), g(2), g(9)]
`;
  assert.deepEqual(run(src, 'data.test.a'), ['small', 'big', 1, 2, 3]);
  const conflict = 'package test\nh(x) := x + 1\nh(x) := x + 2\nb := h(1)';
  // non-strict (the agent's mode): a call with conflicting outputs is undefined, as in regorus
  assert.equal(run(conflict, 'data.test.b'), undefined);
  assert.throws(
    () => run(conflict, 'data.test.b', { strict: true }),
    (err: unknown) => {
      assert.ok(err instanceof RegoEvalError);
      assert.match((err as Error).message, /functions must not produce multiple outputs/);
      return true;
    },
  );
  assert.throws(
    () => run('package test\np := 1\np := 2 if true', 'data.test.p'),
    /should not produce multiple outputs/,
  );
});

test('each else body declares its own variables, and its value reads them', () => {
  // genpolicy's rules.rego (kata-containers src/tools/genpolicy/rules.rego, 3.31.0 to 4.1.0:
  // normalize_namespace_type, strip_cap_prefix) declares the head variable with `:=` in every body
  // of an else chain. OPA compiles each else as a rule of its own; regorus evaluates each body in a
  // fresh scope (src/interpreter.rs, eval_rule_bodies), so this is not a redeclaration.
  const src = `package test
import rego.v1
norm(t) := n if {
  lower(t) == "mount"
  n := "mnt"
} else := n if {
  n := t
}
strip(s) := r if {
  startswith(s, "CAP_")
  r := substring(s, 4, count(s) - 4)
} else := r if {
  r := s
}
three(x) := y if { x > 10; y := "big" } else := y if { x > 5; y := "mid" } else := y if { y := sprintf("%d", [x]) }
v0(x) = y if { y = x; x > 100 } else = y if { y = x * 2 }
r := v if { false; v := 1 } else := v if { v := 2 }
a := [norm("MOUNT"), norm("uts"), strip("CAP_SYS_ADMIN"), strip("NET_RAW"), three(11), three(6), three(1), v0(3), r]
`;
  assert.deepEqual(run(src, 'data.test.a'), ['mnt', 'uts', 'SYS_ADMIN', 'NET_RAW', 'big', 'mid', '1', 6, 2]);
  // a redeclaration inside one body is still refused
  assert.throws(
    () =>
      run('package test\nf(x) := y if { y := 1 } else := y if { y := 2; y := 3 }\na := f(1)', 'data.test.a'),
    /var `y` (used before definition|assigned above)/,
  );
});

test('unification, destructuring and assignment', () => {
  const src = `package test
r := [a, b, c] if {
  [a, {"k": b}] := [1, {"k": 2}]
  c = 3
  [c, 3] = [3, c]
}
x := y if { y = z + 1; z = 5 }
`;
  assert.deepEqual(run(src, 'data.test.r'), [1, 2, 3]);
  assert.equal(run(src, 'data.test.x'), 6, 'body literals are reordered so z is bound first');
  assert.throws(() => run('package test\np if { x := 1; x := 2 }', 'data.test.p'), RegoParseError);
});

test('iteration via refs with variables, some, some-in, every and not', () => {
  const input = {
    containers: [
      { name: 'a', ports: [80] },
      { name: 'b', ports: [443, 8080] },
    ],
  };
  const src = `package test
import future.keywords
names[n] { n := input.containers[_].name }
pairs := {[i, p] | some i, c in input.containers; some p in c.ports}
all_named if every c in input.containers { c.name != "" }
none_root if not input.containers[_].root
has_443 if 443 in input.containers[_].ports
some_decl := x if { some i; input.containers[i].name == "b"; x := i }
`;
  assert.deepEqual(run(src, 'data.test', { input }), {
    names: ['a', 'b'],
    pairs: [
      [0, 80],
      [1, 443],
      [1, 8080],
    ],
    all_named: true,
    none_root: true,
    has_443: true,
    some_decl: 1,
  });
});

test('comprehensions and sets serialize to sorted JSON arrays', () => {
  const src = `package test
s := {3, 1, 2}
a := [(x * 2) | some x in s]
o := {k: v | some k, v in {"b": 2, "a": 1}}
u := s | {9}
i := s & {1, 9}
d := s - {1}
`;
  assert.deepEqual(run(src), {
    s: [1, 2, 3],
    a: [2, 4, 6],
    o: { a: 1, b: 2 },
    u: [1, 2, 3, 9],
    i: [1],
    d: [2, 3],
  });
});

test('arbitrary-size integers and decimals', () => {
  const e = new Engine();
  e.addPolicy(
    't.rego',
    'package test\nbig := 1000000000000000000000 + 1\ndiv := 21 / 5\nf := 0.1 + 0.2\nhalf := 7 / 2',
  );
  const r = e.evalQuery('x := data.test');
  assert.deepEqual(r[0]?.bindings['x'], {
    big: 1000000000000000000001n,
    div: 4.2,
    f: 0.30000000000000004,
    half: 3.5,
  });
});

test('with replaces input, data and functions', () => {
  const src = `package test
allow if input.user == "admin"
limit := data.config.max
double(x) := 2 * x
r1 := true if allow with input as {"user": "admin"}
r2 := l if { l := limit with data.config.max as 7 }
r3 := v if { v := double(2) with double as triple }
triple(x) := 3 * x
r4 := c if { c := count([1]) with count as 42 }
`;
  assert.deepEqual(run(src, 'data.test', { input: { user: 'bob' }, data: { config: { max: 1 } } }), {
    limit: 1,
    r1: true,
    r2: 7,
    r3: 6,
    r4: 42,
  });
});

test('print output is collected', () => {
  const e = new Engine();
  e.addPolicy('t.rego', 'package test\np if { print("hello", 1, {"a": [1]}, input.missing) }');
  assert.equal(e.evalRule('data.test.p'), true);
  assert.deepEqual(e.takePrints(), ['hello 1 {"a": [1]} <undefined>']);
  assert.deepEqual(e.takePrints(), []);
});

test('print writes values as the agent (regorus) does, byte for byte', () => {
  // Expected strings from microsoft/regorus tests/interpreter/cases/builtins/debugging/print.yaml and
  // src/interpreter.rs to_printable/eval_print (the commit kata-containers 4.1.0 pins): ", " and ": "
  // inside containers, strings raw at the top and quoted inside, sets and objects in braces.
  const e = new Engine({ printLocations: true });
  e.addPolicy(
    'rego_0',
    `package test
import rego.v1
x if {
  print("Hello", ["Hello"], [{1: 2}, {1, 2}])
  print({"b": [1, 2], "a": 1}, set(), {}, null, true, -0, 1.1, 0.1, -1.1, "hello\\nworld")
  print({"hello": "world", "வணக்கம்": "ശുഭദിനം"}, input.missing, {"k": {"x"}})
}
`,
  );
  assert.equal(e.evalRule('data.test.x'), true);
  assert.deepEqual(e.takePrints(), [
    'rego_0:4: Hello ["Hello"] [{1: 2}, {1, 2}]',
    'rego_0:5: {"a": 1, "b": [1, 2]} {} {} null true 0 1.1 0.1 -1.1 hello\nworld',
    'rego_0:6: {"hello": "world", "வணக்கம்": "ശുഭദിനം"} <undefined> {"k": {"x"}}',
  ]);
  // without printLocations: the text alone
  const plain = new Engine();
  plain.addPolicy('p.rego', 'package test\np if print("v =", {"a": [1, "x"]})');
  plain.evalRule('data.test.p');
  assert.deepEqual(plain.takePrints(), ['v = {"a": [1, "x"]}']);
});

test('print writes numbers as regorus serializes them (Rust text re-read by serde_json)', () => {
  // regorus src/number.rs: format_decimal (Rust's f64 Display, no exponent) then
  // serde_json::Number::from_str (no arbitrary_precision in the agent's build): integers that fit
  // u64/i64 stay exact, others become an f64 written by ryu (exponent outside 1e-5..1e16).
  const e = new Engine();
  e.addPolicy(
    'p.rego',
    `package test
p if print(18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809, 100000000000000000000)
q if print(0.00001, 0.000001, 0.0000012, 1.5e300, 123.456, 1e16, 2.5)
`,
  );
  e.evalRule('data.test.p');
  e.evalRule('data.test.q');
  assert.deepEqual(e.takePrints(), [
    '18446744073709551615 1.8446744073709552e19 -9223372036854775808 -9.223372036854776e18 1e20',
    '0.00001 1e-6 1.2e-6 1.5e300 123.456 10000000000000000 2.5',
  ]);
});

test('strict vs non-strict builtin errors', () => {
  const src = 'package test\nx := to_number("abc")\ny := 1';
  assert.deepEqual(run(src, 'data.test', { strict: false }), { y: 1 });
  assert.throws(
    () => run(src, 'data.test', { strict: true }),
    (err: unknown) => {
      assert.ok(err instanceof RegoEvalError && err instanceof ContrastError);
      assert.match((err as Error).message, /^test\.rego:2:6: .*could not parse string as number/);
      return true;
    },
  );
});

test('parse errors carry file:line:col', () => {
  const e = new Engine();
  assert.throws(
    () => e.addPolicy('bad.rego', 'package test\n\np := [1, 2\n'),
    (err: unknown) => err instanceof RegoParseError && /^bad\.rego:4:1: /.test((err as Error).message),
  );
  assert.throws(
    () => new Engine({ regoV1: true }).addPolicy('v1.rego', 'package test\np { true }'),
    /`if` keyword is required/,
  );
});

test('regex builtins use RE2 semantics', () => {
  const src = `package test
m := regex.match("^a+b$", "aaab")
r := regex.replace("a1b22", "[0-9]+", "#")
f := regex.find_n("[a-z]", "a1b2c", 2)
s := regex.split(",\\\\s*", "a, b,c")
bad := regex.match("(a)\\\\1", "aa")
`;
  // backreferences are not RE2: the builtin fails (undefined in non-strict mode) instead of matching
  assert.deepEqual(run(src), { m: true, r: 'a#b#', f: ['a', 'b'], s: ['a', 'b', 'c'] });
});

test('string, object and encoding builtins', () => {
  const src = `package test
a := sprintf("%s-%d-%v-%.2f", ["x", 5, [1, "b"], 3.14159])
b := object.union({"a": {"b": 1}}, {"a": {"c": 2}})
c := json.patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "replace", "path": ["b"], "value": 1}])
d := json.patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "add", "path": "/b", "value": 1}])
e := base64.decode(base64.encode("hi"))
f := [trim_space("  x "), upper("a"), concat(",", {"b", "a"}), format_int(255, 16), substring("hello", 1, 3)]
g := units.parse_bytes("1Gi")
h := json.unmarshal("{\\"n\\": 12345678901234567890}")
i := glob.match("*.example.com", ["."], "api.example.com")
j := net.cidr_contains("10.0.0.0/8", "10.1.2.3")
`;
  assert.deepEqual(run(src), {
    a: 'x-5-[1, "b"]-3.14',
    b: { a: { b: 1, c: 2 } },
    d: { a: [1, 2], b: 1 },
    e: 'hi',
    f: ['x', 'A', 'a,b', 'ff', 'ell'],
    g: 1073741824,
    h: { n: 12345678901234567890n },
    i: true,
    j: true,
  });
});

test('evalQuery returns bindings and expression values', () => {
  const e = new Engine();
  e.addPolicy('t.rego', 'package test\nxs := [1, 2, 3]');
  assert.deepEqual(e.evalQuery('x := data.test.xs[_]; x > 1'), [
    { bindings: { x: 2 }, expressions: [true, true] },
    { bindings: { x: 3 }, expressions: [true, true] },
  ]);
  assert.deepEqual(e.evalQuery('1 == 2'), [{ bindings: {}, expressions: [false] }]);
  assert.deepEqual(e.evalQuery('1 == 2; true'), []);
});

test('data: setData, addData merge, getData and base documents next to rules', () => {
  const e = new Engine();
  e.addPolicy('t.rego', 'package pkg\nrule := data.pkg.base + 1');
  e.setData({ pkg: { base: 1, other: { a: 1 } } });
  e.addData({ pkg: { other: { b: 2 } } });
  assert.deepEqual(e.getData(), { pkg: { base: 1, other: { a: 1, b: 2 } } });
  assert.deepEqual(e.evalRule('data.pkg'), { base: 1, other: { a: 1, b: 2 }, rule: 2 });
});

test('trace records the first failing expression of each failed body', () => {
  const e = new Engine();
  e.addPolicy(
    'p.rego',
    `package agent
allow if {
  c := input.containers[_]
  c.image == "good"
}
`,
  );
  e.setInput({ containers: [{ image: 'bad' }] });
  e.enableTrace(true);
  assert.equal(e.evalRule('data.agent.allow'), undefined);
  const trace = e.takeTrace();
  assert.equal(trace.length, 1);
  const t = trace[0]!;
  assert.equal(t.rule, 'data.agent.allow');
  assert.equal(t.file, 'p.rego');
  assert.equal(t.line, 4);
  assert.equal(t.text, 'c.image == "good"');
  assert.deepEqual(t.bindings, { c: { image: 'bad' }, 'c.image': 'bad' });
  assert.deepEqual(e.takeTrace(), []);
});

test('recursion is reported', () => {
  assert.throws(() => run('package test\na := b\nb := a', 'data.test.a'), /recursion/);
});

test('a module that fails to compile leaves the engine as it was; modules can be replaced', () => {
  const e = new Engine();
  e.addPolicy('a.rego', 'package test\nx := 1\nhelper := 2');
  assert.throws(() => e.addPolicy('b.rego', 'package test\nx[y] := 1 if y := 1'), /conflicts/);
  assert.equal(e.evalRule('data.test.x'), 1);
  e.addPolicy('b.rego', 'package test\ny := helper + 1');
  assert.equal(e.evalRule('data.test.y'), 3);
  e.addPolicy('b.rego', 'package test\ny := 10');
  assert.equal(e.evalRule('data.test.y'), 10);
});

test('raw strings, escapes and locations after multi-line raw strings', () => {
  const src = 'package test\nr := `a\\d+\nline2`\ns := "tab\\there \\u00e9"\np := 1 +\n';
  assert.throws(
    () => new Engine().addPolicy('r.rego', src),
    (err: unknown) => err instanceof RegoParseError && /^r\.rego:6:1: /.test((err as Error).message),
  );
  assert.deepEqual(run('package test\nr := `a\\d+`\ns := "tab\\there \\u00e9"'), {
    r: 'a\\d+',
    s: 'tab\there é',
  });
});

test('function results are memoized per evaluation, except for functions that print', () => {
  const e = new Engine();
  e.addPolicy(
    't.rego',
    `package test
loud(x) := y if { print("loud", x); y := x }
outer(x) := loud(x)
quiet(x) := x + 1
r := [outer(1), outer(1), quiet(1), quiet(1)]
`,
  );
  assert.deepEqual(e.evalRule('data.test.r'), [1, 1, 2, 2]);
  assert.deepEqual(e.takePrints(), ['loud 1', 'loud 1']);
});

test('queries and rule paths may use with and brackets', () => {
  const e = new Engine();
  e.addPolicy('t.rego', 'package test\nallow if input.user == "admin"\nby_name["a-b"] := 1');
  assert.deepEqual(e.evalQuery('data.test.allow with input as {"user": "admin"}'), [
    { bindings: {}, expressions: [true] },
  ]);
  assert.equal(e.evalRule('data.test.by_name["a-b"]'), 1);
  assert.equal(e.evalRule('data.test.allow'), undefined);
});

test('jsonStringify writes big integers exactly', () => {
  const e = new Engine();
  e.addPolicy('t.rego', 'package test\nx := {"big": 12345678901234567890123, "s": {1}}');
  assert.equal(jsonStringify(e.evalRule('data.test.x')), '{"big":12345678901234567890123,"s":[1]}');
  assert.equal(jsonStringify({ a: 1 }, 2), '{\n  "a": 1\n}');
});

test('trace entries come from the evaluation only, not from re-evaluating compared values', () => {
  const e = new Engine();
  e.addPolicy(
    'p.rego',
    `package agent
f(x) := 1 if x > 10
f(x) := 2 if { x > 5; print("f2") }
allow if {
  some c in input.containers
  f(c.n) == 3
}
`,
  );
  e.setInput({ containers: [{ n: 7 }] });
  e.enableTrace(true);
  assert.equal(e.evalRule('data.agent.allow'), undefined);
  const trace = e.takeTrace();
  assert.deepEqual(
    trace.map((t) => [t.rule, t.text, t.depth]),
    [
      ['data.agent.f', 'x > 10', 2],
      ['data.agent.allow', 'f(c.n) == 3', 1],
    ],
  );
  assert.deepEqual(trace[1]!.bindings, { c: { n: 7 }, 'f(c.n)': 2 });
  assert.deepEqual(e.takePrints(), ['f2']);
});

test('adding a module re-resolves names in the other modules of its package', () => {
  const e = new Engine();
  e.addPolicy('a.rego', 'package p\nr := v if { v := helper }');
  assert.equal(e.evalRule('data.p.r'), undefined, 'helper is an unbound local variable for now');
  e.addPolicy('b.rego', 'package p\nhelper := 5');
  assert.equal(e.evalRule('data.p.r'), 5);
  e.addPolicy('b.rego', 'package p\nother := 1');
  assert.equal(e.evalRule('data.p.r'), undefined);
});

test('time.now_ns is fixed for one evaluation, even when it takes several milliseconds', () => {
  const src = `package test
import rego.v1
start := time.now_ns()
work := count([x | some x in numbers.range(1, 300000); x % 7 == 0])
finish := time.now_ns() if work > 0
same if start == finish
`;
  const e = new Engine();
  e.addPolicy('t.rego', src);
  const began = Date.now();
  assert.equal(e.evalRule('data.test.same'), true);
  assert.ok(
    Date.now() - began >= 2,
    'the evaluation must span several milliseconds for this test to mean anything',
  );
});
