// Arrows run one way: reads every import of src/ (static, `export … from`, dynamic `import()`) and
// fails on
//   (a) a cycle between the folders src/<folder> (an edge A → B is on a cycle when B also reaches A),
//   (b) an import from shipped code in src/ (anything but *.test.ts) into test/ or bench/,
//   (c) a cycle between the files of one folder (src/<folder>/**).
// *.test.ts files are left out of (a) and (c): a test may import whatever it checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycles, importEdges, type ImportEdge } from './helpers/import-graph.js';
import { repoRoot } from './helpers/shared.js';

const folderOf = (path: string): string => path.split('/')[1]!;
const isTest = (path: string): boolean => path.endsWith('.test.ts');
const key = (e: { from: string; to: string }): string => `${e.from} -> ${e.to}`;

/** The edges of `edges` (between `node(from)` and `node(to)`) that lie on a cycle. */
function edgesOnCycles(edges: ImportEdge[], node: (path: string) => string): Map<string, string[]> {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const [a, b] = [node(e.from), node(e.to)];
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const component = new Map<string, number>();
  cycles(next.keys(), (n) => next.get(n) ?? []).forEach((scc, i) => {
    for (const n of scc) component.set(n, i);
  });
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const [a, b] = [node(e.from), node(e.to)];
    if (a === b || component.get(a) === undefined || component.get(a) !== component.get(b)) continue;
    const k = `${a} -> ${b}`;
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push(key(e));
  }
  return out;
}

/** Fails naming every violation found (the issue-16 restructuring left none to tolerate). */
function noViolations(what: string, found: Map<string, string[]>): void {
  assert.deepEqual(
    [...found.keys()].sort().map((k) => `${k}   (${found.get(k)!.join(', ')})`),
    [],
    `new ${what}: make the arrow run one way`,
  );
}

const edges = importEdges(repoRoot, 'src');
const shipped = edges.filter((e) => !isTest(e.from));

test('the import reader sees static, re-exported and dynamic imports', () => {
  const from = (file: string) => edges.filter((e) => e.from === file).map((e) => e.to);
  assert.ok(from('src/rego/index.ts').includes('src/rego/compile.ts'), 'static import');
  assert.ok(from('src/policyeval/index.ts').includes('src/policyeval/requests.ts'), 'export … from');
  // src/cli/main.ts loads each command with `await import('./login.js')`
  assert.ok(from('src/cli/main.ts').includes('src/cli/login.ts'), 'dynamic import()');
  assert.ok(shipped.length > 200, `only ${shipped.length} imports read`);
});

test('cycles() finds strongly connected components', () => {
  const g: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a', 'd'], d: [], e: ['e'] };
  assert.deepEqual(
    cycles(Object.keys(g), (n) => g[n] ?? []),
    [['a', 'b', 'c']],
  );
});

test('(a) no import cycle between the folders of src/', () => {
  const inSrc = shipped.filter((e) => e.to.startsWith('src/'));
  noViolations('folder cycle edges', edgesOnCycles(inSrc, folderOf));
});

test('(b) shipped code in src/ imports nothing from test/ or bench/', () => {
  const found = new Map<string, string[]>();
  for (const e of shipped) if (/^(test|bench)\//.test(e.to)) found.set(key(e), [key(e)]);
  noViolations('imports from src/ into test/ or bench/', found);
});

test('(c) no import cycle between the files of one folder', () => {
  const found = new Map<string, string[]>();
  for (const folder of new Set(shipped.map((e) => folderOf(e.from)))) {
    const inner = shipped.filter((e) => folderOf(e.from) === folder && e.to.startsWith(`src/${folder}/`));
    for (const [k, v] of edgesOnCycles(inner, (p) => p)) found.set(k, v);
  }
  noViolations('file cycle edges', found);
});
