// Syntax tree produced by the parser and annotated by the compiler (resolution of names to rules,
// imports, builtins), and the tree of rules the compiler builds from it.
import type { Loc } from './errors.js';
import type { Value } from './value.js';

export interface Pos {
  line: number;
  col: number;
  start: number;
  end: number;
}

export type Expr =
  | { t: 'scalar'; v: Value; p: Pos }
  | { t: 'var'; name: string; p: Pos }
  | { t: 'input'; p: Pos }
  | { t: 'data'; p: Pos }
  | { t: 'ref'; head: Expr; path: Expr[]; p: Pos }
  | { t: 'array'; items: Expr[]; p: Pos }
  | { t: 'set'; items: Expr[]; p: Pos }
  | { t: 'object'; entries: [Expr, Expr][]; p: Pos }
  | { t: 'arraycompr'; term: Expr; body: Literal[]; p: Pos }
  | { t: 'setcompr'; term: Expr; body: Literal[]; p: Pos }
  | { t: 'objcompr'; key: Expr; value: Expr; body: Literal[]; p: Pos }
  | { t: 'call'; name: string; fn: Expr; args: Expr[]; p: Pos; target?: CallTarget }
  | { t: 'bin'; op: string; l: Expr; r: Expr; p: Pos }
  | { t: 'neg'; e: Expr; p: Pos }
  | { t: 'in'; key: Expr | null; value: Expr; coll: Expr; p: Pos }
  | { t: 'unify'; l: Expr; r: Expr; p: Pos }
  | { t: 'assign'; l: Expr; r: Expr; p: Pos };

/** What a call resolves to, decided once at compile time. */
export type CallTarget = { k: 'rule'; path: string[] } | { k: 'builtin'; name: string };

export interface WithMod {
  target: Expr;
  value: Expr;
  p: Pos;
}

export type Literal =
  | { t: 'expr'; e: Expr; neg: boolean; withs: WithMod[]; p: Pos }
  | { t: 'some'; vars: string[]; p: Pos }
  | { t: 'somein'; key: Expr | null; value: Expr; coll: Expr; withs: WithMod[]; p: Pos }
  | { t: 'every'; key: Expr | null; value: Expr; coll: Expr; body: Literal[]; withs: WithMod[]; p: Pos };

export type RuleKind = 'complete' | 'set' | 'object' | 'function';

export interface Rule {
  kind: RuleKind;
  /** path inside the package (constant prefix of the head ref) */
  path: string[];
  /** variable part of a ref head (partial set: one key = the element; object: keys) */
  keys: Expr[];
  args: Expr[];
  value: Expr | null;
  body: Literal[] | null;
  /** further bodies (v0 `p { a } { b }`) evaluate like separate definitions */
  elses: { value: Expr | null; body: Literal[]; p: Pos }[];
  isDefault: boolean;
  module: Module;
  loc: Loc;
  p: Pos;
  /** constant value + constant keys: the rule can stop at the first solution */
  constValue: boolean;
  /** `p[a] contains x`: keys end with the set element */
  multiValue?: boolean;
}

export interface Import {
  path: string[];
  root: 'data' | 'input';
  alias: string;
  loc: Loc;
}

export interface Module {
  file: string;
  src: string;
  pkg: string[];
  imports: Import[];
  rules: Rule[];
  v1: boolean;
}

/** The tree of rules under `data` that compilation builds (one node per path segment). */
export interface RuleNode {
  name: string;
  path: string[];
  children: Map<string, RuleNode>;
  /** complete rules defined exactly at this path (incl. default) */
  complete: Rule[];
  /** partial set rules producing this node's value */
  sets: Rule[];
  /** object-producing rules (partial object, ref heads with variable keys) */
  objects: Rule[];
  funcs: Rule[];
  /** true when some rule is defined at or below this node */
  hasRules: boolean;
  /** function whose evaluation prints (directly or through functions it calls): never memoized */
  prints?: boolean;
}
