// `contrast policy eval` on policies and inputs that used to kill the process (V8 heap exhaustion
// is a fatal error no catch can handle; stack overflows printed RangeError stacks). Each runs the real
// CLI in a child process: the process must end with one clean error line naming the limit and the
// flag that raises it, no V8 report and no stack trace.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, type CliResult } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'policy-eval-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const emptyInput = file('empty.json', '{}');

function evalQuery(policy: string, extra: string[] = [], input = emptyInput): Promise<CliResult> {
  return runCli(['policy', 'eval', '--policy', policy, '--query', 'data.p.r', '--input', input, ...extra], {
    timeoutMs: 120_000,
  });
}

function assertClean(r: CliResult, pattern: RegExp): void {
  const out = r.stdout + r.stderr;
  assert.notEqual(r.code, 0, out);
  // a V8 fatal error ends with a signal/134 and prints "FATAL ERROR" and native frames
  assert.ok(r.code > 0 && r.code < 128, `exit code ${r.code}: ${out.slice(-2000)}`);
  assert.doesNotMatch(out, /FATAL ERROR|JavaScript heap|v8::|Maximum call stack|RangeError/);
  assert.doesNotMatch(out, /^\s+at /m, 'no stack trace');
  assert.match(r.stderr, pattern);
}

describe('policy eval resource limits', () => {
  it('numbers.range(1, 1e9) is refused before it allocates', async () => {
    const p = file('range.rego', 'package p\nimport rego.v1\nr := count(numbers.range(1, 1000000000))\n');
    assertClean(
      await evalQuery(p),
      /range\.rego:3:12: error: `numbers.range` would have 1000000000 elements, more than the limit of 1000000 \(maxCollectionSize; raise it with --max-collection\)/,
    );
  });

  it('a comprehension over a product of large ranges stops at the collection limit', async () => {
    const p = file(
      'compr.rego',
      'package p\nimport rego.v1\nr := count([[x, y] | some x in numbers.range(1, 100000); some y in numbers.range(1, 100000)])\n',
    );
    assertClean(await evalQuery(p), /an array comprehension would have 1000001 elements/);
  });

  it('a long loop stops at the step limit, which --max-steps sets', async () => {
    const p = file(
      'loop.rego',
      'package p\nimport rego.v1\nr := count([1 | some x in numbers.range(1, 2000); some y in numbers.range(1, 1000); x == y])\n',
    );
    assertClean(
      await evalQuery(p, ['--max-steps', '100000']),
      /evaluation exceeded the limit of 100000 steps \(maxSteps; raise it with --max-steps\)/,
    );
    // within the default limit
    const ok = await evalQuery(p);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), '1000');
  });

  it('a recursive function is refused when the policy loads (OPA rego_recursion_error)', async () => {
    const p = file(
      'recur.rego',
      'package p\nimport rego.v1\nf(n) := 0 if n <= 0\nf(n) := f(n - 1) + 1 if n > 0\nr := f(100000)\n',
    );
    assertClean(
      await evalQuery(p),
      /recur\.rego:3:1: error: rego_recursion_error: rule data\.p\.f is recursive: data\.p\.f -> data\.p\.f/,
    );
  });

  it('a million-deep JSON input is refused with the nesting limit', async () => {
    const p = file('id.rego', 'package p\nr := input\n');
    const deep = file('deep.json', '['.repeat(1_000_000) + ']'.repeat(1_000_000));
    assertClean(
      await evalQuery(p, [], deep),
      /input: document nested deeper than 1000 levels \(maxNesting; raise it with --max-nesting\)/,
    );
  });

  it('--timeout stops a long evaluation; bad limit values are named', async () => {
    const p = file(
      'slow.rego',
      'package p\nimport rego.v1\nr := count([1 | some x in numbers.range(1, 1000000); some y in numbers.range(1, 1000); x == y])\n',
    );
    assertClean(
      await evalQuery(p, ['--timeout', '1', '--max-steps', '1000000000']),
      /execution exceeded time limit \(elapsed \d+ ms, limit 1 ms; raise it with --timeout\)/,
    );
    assertClean(
      await evalQuery(p, ['--max-depth', 'ten']),
      /--max-depth ten: expected a whole number of at least 1/,
    );
  });

  it('--help documents the limits and their defaults', async () => {
    const r = await runCli(['policy', 'eval', '--help']);
    assert.equal(r.code, 0);
    const help = r.stdout.replace(/\s+/g, ' ');
    assert.match(help, /--max-steps <n> .*default 20,000,000/);
    assert.match(help, /--max-collection <n> .*default 1,000,000/);
    assert.match(help, /--max-depth <n> .*default 100\)/);
    assert.match(help, /--max-nesting <n> .*default 1,000/);
    assert.match(help, /--timeout <ms> .*default: none/);
  });
});
