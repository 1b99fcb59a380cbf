// The budgets tiering.ts puts back while a layer worker starts must be V8's own defaults: any other
// value leaves V8's flags changed, and V8 then refuses Node's code cache for the worker's modules.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { tierUpBudget, wasmTieringBudget } from './tiering.js';

test("the budgets put back are the defaults `node --v8-options` lists for Node 20's V8", (t) => {
  if (!process.versions.v8.startsWith('11.3.')) {
    t.skip(`the budgets are changed on V8 11.3 only; this is V8 ${process.versions.v8}`);
    return;
  }
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  const defaultOf = (flag: string): number => {
    const m = new RegExp(`default: --${flag}=(\\d+)`).exec(options);
    assert.ok(m, `--${flag} not listed by --v8-options`);
    return Number(m[1]);
  };
  // Nothing raised in this process: the module reports the defaults it would restore.
  assert.equal(tierUpBudget(), defaultOf('interrupt-budget'));
  assert.equal(wasmTieringBudget(), defaultOf('wasm-tiering-budget'));
});
