// Explaining a failed `every` reads Rego: the parameters of the function it is in, the arguments of
// the failed call to that function, the names its body reads, the package's rules. These were read
// with regular expressions, which got the Rego below wrong; src/rego's parser reads it as the engine
// does. The last test is the whole explanation, end to end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentSession, explainVerdict, formatExplanation } from '../src/policyeval/index.js';
import {
  callArguments,
  everyParts,
  functionParams,
  packageRules,
  policyModule,
  refsRead,
  standaloneRef,
  unknownNames,
} from '../src/policyeval/explain/syntax.js';

const policy = `package agent_policy

default allow := false

helper(a, b) if {
	a == b
}

helper(a, _) if a == "x"

# multi-line head: the regex read only single-line heads
check_env(
	env_list,
	allowed
) if {
	every e in env_list {
		e in allowed # a comment naming limit, max and other words
	}
}

items := ["a", "b"]
names contains n if some n in items
  indented := 1
limits.max := 3
msg := \`
fake_rule := 1
\`
`;

describe('reading Rego for explanations (src/rego parser)', () => {
  const module = policyModule('p.rego', policy);

  it('splits call arguments, ignoring calls inside strings and comments', () => {
    assert.deepEqual(callArguments('helper(p.OCI, f(x, y), "a,(b")', 'helper'), [
      'p.OCI',
      'f(x, y)',
      '"a,(b"',
    ]);
    assert.deepEqual(callArguments('not other.helper(x)', 'helper'), undefined);
    assert.deepEqual(callArguments('x := helper()', 'helper'), []);
    // the regex took the first `helper(` in the text, inside the string: ["a", "b"]
    assert.deepEqual(callArguments('concat(",", ["helper(a, b)", helper(p, q)])', 'helper'), ['p', 'q']);
  });

  it('finds the parameters of the function definition above a line, multi-line heads too', () => {
    assert.deepEqual(functionParams(module, 'helper', 6), ['a', 'b']);
    assert.deepEqual(functionParams(module, 'helper', 9), ['a', undefined]);
    assert.equal(functionParams(module, 'missing', 9), undefined);
    // the regex found no head for the `every` on line 16 (the head spans lines 12-15)
    assert.deepEqual(functionParams(module, 'check_env', 16), ['env_list', 'allowed']);
  });

  it('knows the package rules: ref heads and indented heads, not text inside strings', () => {
    const rules = packageRules(module);
    for (const r of ['items', 'names', 'allow', 'indented', 'limits', 'msg']) assert.ok(rules.has(r), r);
    assert.ok(!rules.has('nothing'));
    assert.ok(!rules.has('fake_rule'), 'a line inside a raw string is not a rule');
  });

  it('reports the names a body reads that nothing binds; comments and strings hold no names', () => {
    const rules = packageRules(module);
    const known = new Set(['env', 'p']);
    assert.deepEqual(unknownNames('env_allowed(env, p.Env)', known, rules), []);
    assert.deepEqual(unknownNames('i_anno[key] == value', new Set(['key', 'value']), rules), ['i_anno']);
    assert.deepEqual(unknownNames('x := p.a; x in items; regex.match("i_anno", env)', known, rules), []);
    // the regex took `a`, `comment`, `naming`, … for names the body reads
    assert.deepEqual(
      unknownNames('e in allowed # a comment naming limit', new Set(['e', 'allowed']), rules),
      [],
    );
    assert.deepEqual(unknownNames('limits.max > count(p)', known, rules), []);
    assert.equal(unknownNames('x := (', known, rules), undefined, 'text that does not parse');
  });

  it('takes an every apart, also with braces in its domain and body', () => {
    assert.deepEqual(everyParts('every k, v in {"a": 1} { v > 0 }'), {
      key: 'k',
      value: 'v',
      domain: '{"a": 1}',
      body: 'v > 0',
    });
    assert.deepEqual(everyParts('every x in xs {\n\t# {not a brace}\n\tx == {"y": 1}["y"]\n}'), {
      value: 'x',
      domain: 'xs',
      body: 'x == {"y": 1}["y"]',
    });
    assert.equal(everyParts('x in xs'), undefined);
  });

  it('finds the refs an expression reads and makes them standalone queries', () => {
    assert.deepEqual(refsRead('s.containers[input.container_id] == "x.y" ; regex.match(p.re, input.a)'), [
      's.containers[input.container_id]',
      'input.container_id',
      'p.re',
      'input.a',
    ]);
    const bound = (n: string) => `input.B.${n}`;
    assert.equal(
      standaloneRef('s.containers[i][input.k]', (n) => n === 's' || n === 'i', bound, 'data.agent_policy'),
      'input.B.s.containers[input.B.i][input.k]',
    );
    assert.equal(
      standaloneRef('policy_data.c', () => false, bound, 'data.agent_policy'),
      'data.agent_policy.policy_data.c',
    );
  });
});

describe('explaining a failed every inside a function with a multi-line head', () => {
  it('names the element the body fails for', async () => {
    const text = `package agent_policy
import future.keywords.every
import future.keywords.if
import future.keywords.in

CreateContainerRequest if {
	# the call is preceded by a string that looks like a call: "check_env(a, b)"
	note := "check_env(a, b)"
	check_env(input.env, policy_data.allowed)
	note != ""
}

check_env(
	env_list,
	allowed
) if {
	every e in env_list {
		# the body reads nothing but its own variables
		e in allowed
	}
}

policy_data := {"allowed": ["A=1", "B=2"]}
`;
    const session = await AgentSession.create({ text, name: 'multi.rego', origin: 'multi.rego' });
    const input = { env: ['A=1', 'SECRET=1', 'B=2'] };
    const verdict = session.evaluate('CreateContainerRequest', input);
    assert.equal(verdict.allowed, false);
    const x = explainVerdict(session, verdict, input);
    const every = x.failures.find((f) => f.text.startsWith('every e in'));
    assert.ok(every, JSON.stringify(x.failures.map((f) => f.text)));
    // with the regexes: no parameters found (multi-line head), so no "fails for" line at all
    assert.deepEqual(every.failingElements, [{ value: 'SECRET=1' }]);
    assert.match(formatExplanation(x).join('\n'), /fails for "SECRET=1"/);
  });
});
