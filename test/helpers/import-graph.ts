// The import graph of src/: every static import, `export … from`, dynamic `import()` and
// `require()` of every .ts file, resolved to repository paths. ts.preProcessFile reads them the way
// the compiler does (string literals in comments or strings are not taken for imports).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Importing file, relative to the repository root (`src/kube/runtime.ts`). */
  from: string;
  /** Imported file, relative to the repository root; a bare package name stays as written. */
  to: string;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `./x.js` → `x.ts` (or `x/index.ts`), as NodeNext resolution maps it. */
function resolveSpecifier(root: string, fromFile: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const abs = resolve(dirname(fromFile), spec);
  const candidates = [abs.replace(/\.js$/, '.ts'), abs.replace(/\.mjs$/, '.mts'), abs, join(abs, 'index.ts')];
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return relative(root, c);
    } catch {
      // try the next spelling
    }
  }
  return relative(root, abs);
}

/** Every import of every .ts file under `root/dir`. */
export function importEdges(root: string, dir = 'src'): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of walk(join(root, dir)).sort()) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imp of info.importedFiles) {
      edges.push({ from: relative(root, file), to: resolveSpecifier(root, file, imp.fileName) });
    }
  }
  return edges;
}

/** Strongly connected components with more than one node (Tarjan), each sorted. */
export function cycles(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}
