// Recursive-descent parser for Rego v0 and v1 modules and queries. Like regorus, the future keywords
// (`in`, `every`, `if`, `contains`) are recognised in v0 modules even without an import; v1 (via
// `import rego.v1` or the option) additionally requires `if`/`contains` and forbids shadowing.
import type { Expr, Import, Literal, Module, Pos, Rule, WithMod } from './ast.js';
import { RegoParseError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { normInt, type Value } from './value.js';

const RESERVED = new Set([
  'some',
  'not',
  'with',
  'as',
  'default',
  'else',
  'package',
  'import',
  'every',
  'in',
]);
const COMPARE = new Set(['==', '!=', '<', '<=', '>', '>=']);

let wildcardCounter = 0;

export interface ParseOptions {
  regoV1?: boolean;
}

export class Parser {
  private toks: Token[];
  private i = 0;
  v1: boolean;
  private noUnion = 0;
  private seenKwImports = new Set<string>();
  private inDefault = false;

  constructor(
    readonly file: string,
    readonly src: string,
    opts: ParseOptions = {},
  ) {
    this.toks = tokenize(src, file);
    this.v1 = opts.regoV1 ?? false;
  }

  // ---- token helpers
  private get tok(): Token {
    return this.toks[this.i]!;
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.tok;
    if (t.k !== 'eof') this.i++;
    return t;
  }
  private isOp(v: string, t: Token = this.tok): boolean {
    return t.k === 'op' && t.v === v;
  }
  private isId(v: string, t: Token = this.tok): boolean {
    return t.k === 'id' && t.v === v;
  }
  private fail(msg: string, t: Token = this.tok): never {
    throw new RegoParseError(msg, { file: this.file, line: t.line, col: t.col });
  }
  private expectOp(v: string): Token {
    if (!this.isOp(v)) this.fail(`expecting \`${v}\`, found \`${this.tok.v || 'EOF'}\``);
    return this.next();
  }
  private pos(start: Token): Pos {
    const prev = this.toks[this.i - 1] ?? start;
    return { line: start.line, col: start.col, start: start.start, end: Math.max(prev.end, start.end) };
  }

  // ---- module
  parseModule(): Module {
    const mod: Module = { file: this.file, src: this.src, pkg: [], imports: [], rules: [], v1: this.v1 };
    if (!this.isId('package')) this.fail('expecting `package`');
    this.next();
    mod.pkg = this.parsePathRef('package');
    while (this.isId('import')) {
      const t = this.next();
      const path = this.parsePathRef('import');
      let alias: string | undefined;
      if (this.isId('as')) {
        this.next();
        alias = this.next().v;
      }
      const head = path[0];
      if (head === 'future' || head === 'rego') {
        const kind = head === 'rego' ? 'rego' : 'future';
        if (this.seenKwImports.has('rego') || (kind === 'rego' && this.seenKwImports.size > 0)) {
          this.fail('this import shadows previous import', t);
        }
        this.seenKwImports.add(kind);
      }
      if (head === 'future') {
        if (path[1] !== 'keywords') this.fail('invalid future import', t);
        continue;
      }
      if (head === 'rego') {
        if (path[1] === 'v1' && path.length === 2) {
          this.v1 = true;
          mod.v1 = true;
          continue;
        }
        this.fail('invalid rego import', t);
      }
      if (head !== 'data' && head !== 'input') {
        this.fail('import path must begin with one of: {data, future, input, rego}', t);
      }
      const name = alias ?? (path.length > 1 ? path[path.length - 1]! : head);
      if (name === 'input' && (head !== 'input' || path.length > 1)) this.fail('input cannot be shadowed', t);
      if (name === 'data' && (head !== 'data' || path.length > 1)) this.fail('data cannot be shadowed', t);
      if (mod.imports.some((im) => im.alias === name)) this.fail('this import shadows previous import', t);
      mod.imports.push({
        path: path.slice(1),
        root: head,
        alias: name,
        loc: { file: this.file, line: t.line, col: t.col },
      } satisfies Import);
    }
    while (this.tok.k !== 'eof') {
      mod.rules.push(...this.parseRule(mod));
    }
    return mod;
  }

  private parsePathRef(what: string): string[] {
    const out: string[] = [];
    const first = this.next();
    if (first.k !== 'id') this.fail(`invalid ${what} path`, first);
    out.push(first.v);
    for (;;) {
      if (this.isOp('.') && !this.tok.ws) {
        this.next();
        const id = this.next();
        if (id.k !== 'id') this.fail(`invalid ${what} path`, id);
        if (id.ws) this.fail('invalid whitespace between . and identifier', id);
        out.push(id.v);
      } else if (this.isOp('[') && !this.tok.ws) {
        this.next();
        const s = this.next();
        if (s.k !== 'str') this.fail(`invalid ${what} path`, s);
        out.push(s.v);
        this.expectOp(']');
      } else break;
    }
    return out;
  }

  private parseRule(mod: Module): Rule[] {
    const start = this.tok;
    let isDefault = false;
    if (this.isId('default')) {
      this.next();
      isDefault = true;
    }
    const nameTok = this.next();
    if (nameTok.k !== 'id' || RESERVED.has(nameTok.v)) {
      this.fail(`unexpected ${RESERVED.has(nameTok.v) ? 'keyword ' : ''}\`${nameTok.v || 'EOF'}\``, nameTok);
    }
    const refTerms: Expr[] = [];
    for (;;) {
      if (this.isOp('.') && !this.tok.ws) {
        this.next();
        const id = this.next();
        if (id.k !== 'id') this.fail('expecting identifier', id);
        refTerms.push({ t: 'scalar', v: id.v, p: this.pos(id) });
      } else if (this.isOp('[') && !this.tok.ws) {
        this.next();
        refTerms.push(this.parseExpr());
        this.expectOp(']');
      } else break;
    }
    let args: Expr[] | null = null;
    if (this.isOp('(') && !this.tok.nl) {
      this.next();
      args = [];
      while (!this.isOp(')')) {
        args.push(this.parseExpr());
        if (!this.isOp(',')) break;
        this.next();
      }
      this.expectOp(')');
    }
    let containsKey: Expr | null = null;
    if (this.isId('contains') && !this.tok.nl) {
      this.next();
      containsKey = this.parseNoAssign();
    }
    let value: Expr | null = null;
    if (this.isOp('=') || this.isOp(':=')) {
      this.next();
      if (isDefault) {
        this.inDefault = true;
        try {
          value = this.parseCompare();
        } finally {
          this.inDefault = false;
        }
      } else value = this.parseNoAssign();
    }
    if (isDefault) {
      if (!value) this.fail('default rule must have a value', start);
      checkDefaultValue(value, this);
    }
    const loc = { file: this.file, line: nameTok.line, col: nameTok.col };
    if (this.v1 && refTerms.length === 0 && (nameTok.v === 'data' || nameTok.v === 'input')) {
      this.fail(`${nameTok.v} cannot be shadowed`, nameTok);
    }
    let body: Literal[] | null = null;
    if (!isDefault) {
      if (this.isId('if')) {
        this.next();
        body = this.isOp('{') ? this.parseIfBody() : [this.parseLiteral()];
      } else if (this.isOp('{') && !(this.tok.nl && value)) {
        if (this.v1) this.fail('`if` keyword is required before rule body');
        body = this.parseBlock();
      }
    }
    const elses: Rule['elses'] = [];
    while (this.isId('else')) {
      const et = this.next();
      let ev: Expr | null = null;
      if (this.isOp('=') || this.isOp(':=')) {
        this.next();
        ev = this.parseNoAssign();
      }
      let eb: Literal[];
      if (this.isId('if')) {
        this.next();
        eb = this.isOp('{') ? this.parseIfBody() : [this.parseLiteral()];
      } else if (this.isOp('{')) {
        if (this.v1) this.fail('`if` keyword is required before rule body');
        eb = this.parseBlock();
      } else {
        eb = [];
      }
      elses.push({ value: ev, body: eb, p: this.pos(et) });
    }
    // v0: additional bodies `p { a } { b }`
    const extraBodies: Literal[][] = [];
    while (!this.v1 && body && this.isOp('{') && !this.tok.nl) extraBodies.push(this.parseBlock());

    if (!isDefault && body === null && value === null && containsKey === null) {
      if (args) this.fail('rule must have a body or assignment', nameTok);
      if (this.v1 && refTerms.length === 1)
        this.fail('`contains` keyword is required for partial set rules', nameTok);
      if (this.v1 || refTerms.length === 0) this.fail('rule must have a body or assignment', nameTok);
    }
    if (!isDefault && body === null && value === null && containsKey === null) {
      // v0 `p[x]` without body: partial set with a true body
    }

    const constPath: string[] = [nameTok.v];
    let keys: Expr[] = [];
    let multiValue = false;
    let kind: Rule['kind'];
    if (args) {
      kind = 'function';
      for (const r of refTerms) {
        if (r.t !== 'scalar' || typeof r.v !== 'string') this.fail('invalid function name', nameTok);
        constPath.push(r.v);
      }
    } else if (containsKey) {
      let j = 0;
      for (; j < refTerms.length; j++) {
        const r = refTerms[j]!;
        if (r.t === 'scalar' && typeof r.v === 'string') constPath.push(r.v);
        else break;
      }
      if (j === refTerms.length) {
        kind = 'set';
        keys = [containsKey];
      } else {
        // `p[a][b] contains x`: an object whose leaves are sets
        kind = 'object';
        multiValue = true;
        keys = [...refTerms.slice(j), containsKey];
      }
    } else if (!this.v1 && value === null && refTerms.length === 1 && !isDefault) {
      kind = 'set';
      keys = [refTerms[0]!];
    } else {
      let j = 0;
      for (; j < refTerms.length; j++) {
        const r = refTerms[j]!;
        if (r.t === 'scalar' && typeof r.v === 'string') constPath.push(r.v);
        else break;
      }
      keys = refTerms.slice(j);
      if (keys.length === 0) kind = 'complete';
      else {
        kind = 'object';
      }
    }
    const trueExpr: Expr = { t: 'scalar', v: true, p: this.pos(nameTok) };
    const mk = (b: Literal[] | null, els: Rule['elses']): Rule => ({
      kind,
      path: constPath,
      keys,
      args: args ?? [],
      value: value ?? (kind === 'set' ? null : trueExpr),
      body: b,
      elses: els,
      isDefault,
      module: mod,
      loc,
      p: this.pos(start),
      constValue: false,
      multiValue,
    });
    const rules = [mk(body ?? (isDefault ? null : []), elses)];
    for (const b of extraBodies) rules.push(mk(b, []));
    return rules;
  }

  /**
   * After `if`, regorus reads `{ t | body }` / `{ k: v | body }` ending the line as one comprehension
   * literal rather than as a block; anything else is a block.
   */
  private parseIfBody(): Literal[] {
    const save = this.i;
    try {
      const lit = this.parseLiteral();
      if (
        lit.t === 'expr' &&
        (lit.e.t === 'setcompr' || lit.e.t === 'objcompr') &&
        (this.tok.nl || this.tok.k === 'eof')
      ) {
        return [lit];
      }
    } catch (err) {
      if (!(err instanceof RegoParseError)) throw err;
    }
    this.i = save;
    return this.parseBlock();
  }

  private parseBlock(): Literal[] {
    this.expectOp('{');
    const lits = this.parseLiterals('}');
    this.expectOp('}');
    return lits;
  }

  /** literals separated by `;` or line breaks, up to (not including) the closing token */
  private parseLiterals(close: string): Literal[] {
    const lits: Literal[] = [];
    while (!this.isOp(close)) {
      if (this.tok.k === 'eof') this.fail(`expecting \`${close}\``);
      lits.push(this.parseLiteral());
      if (this.isOp(';')) {
        this.next();
        continue;
      }
      if (this.isOp(close)) break;
      if (!this.tok.nl) this.fail(`expecting \`${close}\` or newline, found \`${this.tok.v || 'EOF'}\``);
    }
    return lits;
  }

  parseLiteral(): Literal {
    const start = this.tok;
    if (this.isId('some')) {
      this.next();
      const first = this.parseUnion();
      let second: Expr | null = null;
      if (this.isOp(',')) {
        // either `some k, v in coll` or `some a, b, c`
        const save = this.i;
        this.next();
        second = this.parseUnion();
        if (!this.isId('in')) {
          this.i = save;
          second = null;
        }
      }
      if (this.isId('in')) {
        this.next();
        const coll = this.parseUnion();
        const withs = this.parseWiths();
        return second
          ? { t: 'somein', key: first, value: second, coll, withs, p: this.pos(start) }
          : { t: 'somein', key: null, value: first, coll, withs, p: this.pos(start) };
      }
      const vars: string[] = [];
      let e: Expr = first;
      for (;;) {
        if (e.t !== 'var') this.fail('expecting variable in `some` declaration', start);
        vars.push(e.name);
        if (!this.isOp(',')) break;
        this.next();
        e = this.parseTerm();
      }
      return { t: 'some', vars, p: this.pos(start) };
    }
    if (this.isId('every')) {
      this.next();
      const first = this.parseUnion();
      let key: Expr | null = null;
      let value = first;
      if (this.isOp(',')) {
        this.next();
        key = first;
        value = this.parseUnion();
      }
      if (!this.isId('in')) this.fail('expecting `in` in `every`');
      this.next();
      const coll = this.parseUnion();
      const body = this.parseBlock();
      const withs = this.parseWiths();
      return { t: 'every', key, value, coll, body, withs, p: this.pos(start) };
    }
    let neg = false;
    if (this.isId('not')) {
      this.next();
      neg = true;
    }
    let e = this.parseExpr();
    if (this.isOp(',') && !neg) {
      // `k, v in coll` membership at literal level
      const save = this.i;
      this.next();
      const v = this.parseUnion();
      if (this.isId('in')) {
        this.next();
        const coll = this.parseUnion();
        e = { t: 'in', key: e, value: v, coll, p: this.pos(start) };
      } else this.i = save;
    }
    const withs = this.parseWiths();
    return { t: 'expr', e, neg, withs, p: this.pos(start) };
  }

  private parseWiths(): WithMod[] {
    const withs: WithMod[] = [];
    while (this.isId('with')) {
      const t = this.next();
      const target = this.parseTerm();
      if (!this.isId('as')) this.fail('expecting `as`');
      this.next();
      const value = this.parseUnion();
      withs.push({ target, value, p: this.pos(t) });
    }
    return withs;
  }

  // ---- expressions
  parseExpr(): Expr {
    const start = this.tok;
    const l = this.parseOr();
    if (this.isOp('=')) {
      this.next();
      const r = this.parseOr();
      return { t: 'unify', l, r, p: this.pos(start) };
    }
    if (this.isOp(':=')) {
      this.next();
      const r = this.parseOr();
      if (l.t === 'input' || l.t === 'data') {
        const name = l.t;
        if (this.v1) this.fail(`${name} cannot be shadowed`, start);
        return { t: 'assign', l: { t: 'var', name, p: l.p }, r, p: this.pos(start) };
      }
      if (!hasVar(l))
        this.fail('assignment operator := requires left-hand side to have bindable variables', start);
      return { t: 'assign', l, r, p: this.pos(start) };
    }
    return l;
  }

  /** expression without top-level `=`/`:=` (rule values, with values) */
  private parseNoAssign(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    const start = this.tok;
    let l = this.parseIn();
    while (this.isId('or')) {
      this.next();
      const r = this.parseIn();
      l = { t: 'bin', op: 'or', l, r, p: this.pos(start) };
    }
    return l;
  }

  private parseIn(): Expr {
    const start = this.tok;
    let l = this.parseCompare();
    while (this.isId('in')) {
      this.next();
      const coll = this.parseCompare();
      l = { t: 'in', key: null, value: l, coll, p: this.pos(start) };
    }
    return l;
  }

  private parseCompare(): Expr {
    const start = this.tok;
    let l = this.parseUnion();
    while (this.tok.k === 'op' && COMPARE.has(this.tok.v)) {
      const op = this.next().v;
      const r = this.parseUnion();
      l = { t: 'bin', op, l, r, p: this.pos(start) };
    }
    return l;
  }

  private parseUnion(): Expr {
    const start = this.tok;
    let l = this.parseInter();
    while (this.isOp('|') && this.noUnion === 0) {
      this.next();
      const r = this.parseInter();
      l = { t: 'bin', op: '|', l, r, p: this.pos(start) };
    }
    return l;
  }

  private parseInter(): Expr {
    const start = this.tok;
    let l = this.parseAdd();
    while (this.isOp('&')) {
      this.next();
      const r = this.parseAdd();
      l = { t: 'bin', op: '&', l, r, p: this.pos(start) };
    }
    return l;
  }

  private parseAdd(): Expr {
    const start = this.tok;
    let l = this.parseMul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().v;
      const r = this.parseMul();
      l = { t: 'bin', op, l, r, p: this.pos(start) };
    }
    return l;
  }

  private parseMul(): Expr {
    const start = this.tok;
    let l = this.parseUnary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().v;
      const r = this.parseUnary();
      l = { t: 'bin', op, l, r, p: this.pos(start) };
    }
    return l;
  }

  private parseUnary(): Expr {
    const start = this.tok;
    if (this.isOp('-')) {
      this.next();
      if (this.tok.k === 'num' && !this.tok.ws) {
        const n = this.next();
        return this.postfix({ t: 'scalar', v: negate(parseNumber(n.v)), p: this.pos(start) }, start);
      }
      if (this.tok.k === 'num') {
        const n = this.next();
        return this.postfix({ t: 'scalar', v: negate(parseNumber(n.v)), p: this.pos(start) }, start);
      }
      if (this.inDefault) return { t: 'neg', e: this.parseUnary(), p: this.pos(start) };
      this.fail('unary - can only be used with numeric literals', start);
    }
    return this.parseTerm();
  }

  parseTerm(): Expr {
    const start = this.tok;
    const t = this.next();
    let e: Expr;
    switch (t.k) {
      case 'num':
        e = { t: 'scalar', v: parseNumber(t.v), p: this.pos(start) };
        break;
      case 'str':
        e = { t: 'scalar', v: t.v, p: this.pos(start) };
        break;
      case 'id':
        if (t.v === 'true' || t.v === 'false') e = { t: 'scalar', v: t.v === 'true', p: this.pos(start) };
        else if (t.v === 'null') e = { t: 'scalar', v: null, p: this.pos(start) };
        else if (t.v === 'set' && this.isOp('(') && !this.tok.ws && this.isOp(')', this.peek())) {
          this.next();
          this.next();
          e = { t: 'set', items: [], p: this.pos(start) };
        } else {
          if (RESERVED.has(t.v)) this.fail(`unexpected keyword \`${t.v}\``, t);
          let name = t.v;
          if (name === '_') name = `_$${++wildcardCounter}`;
          e =
            name === 'input'
              ? { t: 'input', p: this.pos(start) }
              : name === 'data'
                ? { t: 'data', p: this.pos(start) }
                : { t: 'var', name, p: this.pos(start) };
        }
        break;
      case 'op':
        if (t.v === '(') {
          e = this.noUnionSave(() => this.parseOr());
          this.expectOp(')');
          if (e.t === 'bin') e = { ...e, paren: true } as Expr;
          break;
        }
        if (t.v === '[') {
          e = this.parseArrayLike(start);
          break;
        }
        if (t.v === '{') {
          e = this.parseBraceLike(start);
          break;
        }
        this.fail(`unexpected \`${t.v}\``, t);
        break;
      default:
        this.fail('unexpected end of input', t);
    }
    return this.postfix(e!, start);
  }

  /** Runs `fn` where `|` is set union again (inside parentheses, brackets, call arguments). */
  private noUnionSave<T>(fn: () => T): T {
    const saved = this.noUnion;
    this.noUnion = 0;
    try {
      return fn();
    } finally {
      this.noUnion = saved;
    }
  }

  /** Runs `fn` where `|` ends the term (the bar of a comprehension), not set union. */
  private withoutUnion<T>(fn: () => T): T {
    this.noUnion++;
    try {
      return fn();
    } finally {
      this.noUnion--;
    }
  }

  /** Comma-separated items up to (not including) `close`, a trailing comma allowed; appended to `items`. */
  private listInto<T>(items: T[], close: string, parseItem: () => T): T[] {
    this.noUnionSave(() => {
      while (!this.isOp(close)) {
        items.push(parseItem());
        if (!this.isOp(',')) break;
        this.next();
      }
    });
    return items;
  }

  /**
   * At a `|`: tries to read a comprehension body up to `close` (consumed). Undefined when it is no
   * comprehension body after all; the caller then rewinds and reads a collection literal.
   */
  private tryComprehensionBody(close: string): Literal[] | undefined {
    this.next();
    try {
      const body = this.noUnionBody(close);
      if (this.isOp(close)) {
        this.next();
        return body;
      }
    } catch (err) {
      if (!(err instanceof RegoParseError)) throw err;
    }
    return undefined;
  }

  private postfix(e: Expr, start: Token): Expr {
    for (;;) {
      const t = this.tok;
      if (this.isOp('.') && !t.ws) {
        this.next();
        const id = this.next();
        if (id.k !== 'id') this.fail('expecting identifier after `.`', id);
        if (id.ws) this.fail('invalid whitespace between . and identifier', id);
        e = appendRef(e, { t: 'scalar', v: id.v, p: this.pos(id) }, this.pos(start));
      } else if (this.isOp('[') && !t.ws) {
        this.next();
        const k = this.noUnionSave(() => this.parseExpr());
        this.expectOp(']');
        e = appendRef(e, k, this.pos(start));
      } else if (this.isOp('(') && !t.ws) {
        const name = callName(e);
        if (name === null) this.fail('invalid function call', t);
        this.next();
        const args = this.listInto<Expr>([], ')', () => this.parseExpr());
        this.expectOp(')');
        e = { t: 'call', name, fn: e, args, p: this.pos(start) };
      } else break;
    }
    return e;
  }

  private parseArrayLike(start: Token): Expr {
    if (this.isOp(']')) {
      this.next();
      return { t: 'array', items: [], p: this.pos(start) };
    }
    const save = this.i;
    const first = this.withoutUnion(() => this.parseIn());
    let tried = false;
    if (this.isOp('|') && (first.t !== 'bin' || isParen(first))) {
      tried = true;
      const body = this.tryComprehensionBody(']');
      if (body) return { t: 'arraycompr', term: first, body, p: this.pos(start) };
    }
    const items: Expr[] = [];
    if (tried || this.isOp('|')) this.i = save;
    else if (this.isOp(',') || this.isOp(']')) {
      items.push(first);
      if (this.isOp(',')) this.next();
    } else this.i = save;
    this.listInto(items, ']', () => this.parseExpr());
    this.expectOp(']');
    return { t: 'array', items, p: this.pos(start) };
  }

  private noUnionBody(close: string): Literal[] {
    return this.noUnionSave(() => this.parseLiterals(close));
  }

  private parseBraceLike(start: Token): Expr {
    if (this.isOp('}')) {
      this.next();
      return { t: 'object', entries: [], p: this.pos(start) };
    }
    const save = this.i;
    const first = this.withoutUnion(() => this.parseIn());
    if (this.isOp(':')) {
      this.next();
      const val = this.withoutUnion(() => this.parseIn());
      let triedObj = false;
      if (this.isOp('|') && (val.t !== 'bin' || isParen(val))) {
        triedObj = true;
        const body = this.tryComprehensionBody('}');
        if (body) return { t: 'objcompr', key: first, value: val, body, p: this.pos(start) };
      }
      const entries: [Expr, Expr][] = [];
      if (!triedObj && (this.isOp(',') || this.isOp('}'))) {
        entries.push([first, val]);
        if (this.isOp(',')) this.next();
      } else this.i = save;
      this.listInto(entries, '}', (): [Expr, Expr] => {
        const k = this.parseIn();
        this.expectOp(':');
        return [k, this.parseIn()];
      });
      this.expectOp('}');
      return { t: 'object', entries, p: this.pos(start) };
    }
    let triedSet = false;
    if (this.isOp('|') && (first.t !== 'bin' || isParen(first))) {
      triedSet = true;
      const body = this.tryComprehensionBody('}');
      if (body) return { t: 'setcompr', term: first, body, p: this.pos(start) };
    }
    const items: Expr[] = [];
    if (!triedSet && (this.isOp(',') || this.isOp('}'))) {
      items.push(first);
      if (this.isOp(',')) this.next();
    } else this.i = save;
    this.listInto(items, '}', () => this.parseExpr());
    this.expectOp('}');
    return { t: 'set', items, p: this.pos(start) };
  }

  /** a query: literals separated by `;` or newlines up to EOF */
  parseQuery(): Literal[] {
    const lits: Literal[] = [];
    while (this.tok.k !== 'eof') {
      lits.push(this.parseLiteral());
      if (this.isOp(';')) {
        this.next();
        continue;
      }
      if ((this.tok as Token).k === 'eof') break;
      if (!this.tok.nl) this.fail('expecting EOF');
    }
    return lits;
  }
}

function isParen(e: Expr): boolean {
  return (e as { paren?: boolean }).paren === true;
}

function appendRef(e: Expr, k: Expr, p: Pos): Expr {
  if (e.t === 'ref') return { t: 'ref', head: e.head, path: [...e.path, k], p };
  return { t: 'ref', head: e, path: [k], p };
}

function callName(e: Expr): string | null {
  if (e.t === 'var') return e.name;
  if (e.t === 'data') return 'data';
  if (e.t === 'ref') {
    const h = e.head.t === 'var' ? e.head.name : e.head.t === 'data' ? 'data' : null;
    if (h === null) return null;
    const parts = [h];
    for (const x of e.path) {
      if (x.t !== 'scalar' || typeof x.v !== 'string') return null;
      parts.push(x.v);
    }
    return parts.join('.');
  }
  return null;
}

function hasVar(e: Expr): boolean {
  switch (e.t) {
    case 'var':
      return true;
    case 'array':
    case 'set':
      return e.items.some(hasVar);
    case 'object':
      return e.entries.some(([, v]) => hasVar(v));
    default:
      return false;
  }
}

function checkDefaultValue(e: Expr, p: Parser): void {
  const bad = (what: string): never => {
    throw new RegoParseError(`invalid \`${what}\` in default value`, {
      file: p.file,
      line: e.p.line,
      col: e.p.col,
    });
  };
  const walk = (x: Expr): void => {
    switch (x.t) {
      case 'scalar':
        return;
      case 'var':
        return bad('var');
      case 'ref':
      case 'input':
      case 'data':
        return bad('ref');
      case 'call':
        return bad('call');
      case 'neg':
        return bad('unaryexpr');
      case 'bin':
        if (x.op === '|' || x.op === '&') return bad('binexpr');
        if (COMPARE.has(x.op)) return bad('boolexpr');
        return bad('arithexpr');
      case 'in':
        return bad('membership');
      case 'array':
      case 'set':
        x.items.forEach(walk);
        return;
      case 'object':
        x.entries.forEach(([k, v]) => {
          walk(k);
          walk(v);
        });
        return;
      default:
        return;
    }
  };
  walk(e);
}

export function parseNumber(s: string): Value {
  if (/^[0-9]+$/.test(s)) {
    if (s.length < 16) return Number(s);
    return normInt(BigInt(s));
  }
  return Number(s);
}

function negate(v: Value): Value {
  if (typeof v === 'bigint') return normInt(-v);
  if (typeof v === 'number') return v === 0 ? 0 : -v;
  return v;
}

export function parseModule(file: string, src: string, opts: ParseOptions = {}): Module {
  return new Parser(file, src, opts).parseModule();
}

/** Parses a query (or a rule body's literals): literals separated by `;` or newlines. */
export function parseQuery(file: string, src: string, opts: ParseOptions = {}): Literal[] {
  return new Parser(file, src, opts).parseQuery();
}
