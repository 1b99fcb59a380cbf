// Arrows run one way: reads every import of src/ (static, `export … from`, dynamic `import()`) and
// fails on
//   (a) a cycle between the folders src/<folder> (an edge A → B is on a cycle when B also reaches A),
//   (b) an import from shipped code in src/ (anything but *.test.ts) into test/ or bench/,
//   (c) a cycle between the files of one folder (src/<folder>/**).
// *.test.ts files are left out of (a) and (c): a test may import whatever it checks.
//
// KNOWN_* list violations being removed (all empty since issue 16 landed). A listed
// violation that no longer exists fails the test too, so each entry is removed as soon as its
// cause is gone, and the lists can only shrink.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycles, importEdges, type ImportEdge } from './helpers/import-graph.js';
import { repoRoot } from './helpers/shared.js';

/**
 * Folder edges on a cycle, `from -> to`. None left: the kube ↔ manifest cycle went with the move of
 * generate, the policy pipeline and mirror's YAML part to src/workflows and of the platforms to
 * src/contrast; the policy ↔ policyeval one with the move of policy test support to test/helpers.
 */
const KNOWN_FOLDER_CYCLE_EDGES = new Set<string>([]);

/** Shipped-code imports into test/ or bench/, `file -> file`. */
const KNOWN_TEST_IMPORTS = new Set<string>([]);

/** File edges on a cycle inside one folder, `file -> file`. */
const KNOWN_FILE_CYCLE_EDGES = new Set<string>([]);

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

/** Fails on an unlisted violation and on a listed one that is gone. */
function compare(what: string, found: Map<string, string[]>, known: Set<string>): void {
  const fresh = [...found.keys()].filter((k) => !known.has(k)).sort();
  const gone = [...known].filter((k) => !found.has(k)).sort();
  assert.deepEqual(
    fresh.map((k) => `${k}   (${found.get(k)!.join(', ')})`),
    [],
    `new ${what}: make the arrow run one way`,
  );
  assert.deepEqual(gone, [], `${what} listed as known but gone: remove them from the list`);
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
  compare('folder cycle edges', edgesOnCycles(inSrc, folderOf), KNOWN_FOLDER_CYCLE_EDGES);
});

test('(b) shipped code in src/ imports nothing from test/ or bench/', () => {
  const found = new Map<string, string[]>();
  for (const e of shipped) if (/^(test|bench)\//.test(e.to)) found.set(key(e), [key(e)]);
  compare('imports from src/ into test/ or bench/', found, KNOWN_TEST_IMPORTS);
});

test('(c) no import cycle between the files of one folder', () => {
  const found = new Map<string, string[]>();
  for (const folder of new Set(shipped.map((e) => folderOf(e.from)))) {
    const inner = shipped.filter((e) => folderOf(e.from) === folder && e.to.startsWith(`src/${folder}/`));
    for (const [k, v] of edgesOnCycles(inner, (p) => p)) found.set(k, v);
  }
  compare('file cycle edges', found, KNOWN_FILE_CYCLE_EDGES);
});
