// Tokenizer for Rego source. Newlines are not tokens; each token records whether a newline or
// whitespace preceded it, which is all the parser needs (statements end at line breaks, refs may not
// contain whitespace).
import { RegoParseError } from './errors.js';

export type TokKind = 'id' | 'num' | 'str' | 'op' | 'eof';

export interface Token {
  k: TokKind;
  /** identifier/operator text, number literal text, or decoded string value */
  v: string;
  line: number;
  col: number;
  start: number;
  end: number;
  nl: boolean;
  ws: boolean;
  raw?: boolean;
}

const OPS2 = new Set([':=', '==', '!=', '<=', '>=']);
const OPS1 = new Set([
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  '.',
  ',',
  ';',
  ':',
  '=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '|',
  '!',
]);

export function tokenize(src: string, file: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let nl = true;
  let ws = true;
  const n = src.length;
  const err = (msg: string, at: number): never => {
    throw new RegoParseError(msg, { file, line, col: at - lineStart + 1 });
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
      nl = true;
      ws = true;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      ws = true;
      continue;
    }
    if (c === 35) {
      // comment
      while (i < n && src.charCodeAt(i) !== 10) i++;
      ws = true;
      continue;
    }
    const start = i;
    const col = i - lineStart + 1;
    const push = (k: TokKind, v: string, raw?: boolean): void => {
      const t: Token = { k, v, line, col, start, end: i, nl, ws };
      if (raw) t.raw = true;
      toks.push(t);
      nl = false;
      ws = false;
    };
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
      i++;
      while (i < n) {
        const d = src.charCodeAt(i);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 || (d >= 48 && d <= 57)) i++;
        else break;
      }
      push('id', src.slice(start, i));
      continue;
    }
    if (c >= 48 && c <= 57) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      if (src[i] === '.' && isDigit(src.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      if (src[i] === 'e' || src[i] === 'E') {
        let j = i + 1;
        if (src[j] === '+' || src[j] === '-') j++;
        if (isDigit(src.charCodeAt(j))) {
          i = j;
          while (i < n && isDigit(src.charCodeAt(i))) i++;
        }
      }
      push('num', src.slice(start, i));
      continue;
    }
    if (c === 34) {
      i++;
      let out = '';
      for (;;) {
        if (i >= n || src.charCodeAt(i) === 10) err('unmatched "', start);
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const e = src[i + 1];
          i += 2;
          switch (e) {
            case '"':
              out += '"';
              break;
            case '\\':
              out += '\\';
              break;
            case '/':
              out += '/';
              break;
            case 'b':
              out += '\b';
              break;
            case 'f':
              out += '\f';
              break;
            case 'n':
              out += '\n';
              break;
            case 'r':
              out += '\r';
              break;
            case 't':
              out += '\t';
              break;
            case 'u': {
              const hex = src.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) err('invalid unicode escape', i);
              out += String.fromCharCode(parseInt(hex, 16));
              i += 4;
              break;
            }
            default:
              err(`invalid escape sequence \\${e ?? ''}`, i - 2);
          }
          continue;
        }
        out += d;
        i++;
      }
      push('str', out);
      continue;
    }
    if (c === 96) {
      const endIdx = src.indexOf('`', i + 1);
      if (endIdx < 0) err('unmatched `', start);
      const v = src.slice(i + 1, endIdx);
      i = endIdx + 1;
      push('str', v, true);
      // keep line/column right for what follows a multi-line raw string
      for (let j = start; j < endIdx; j++) {
        if (src.charCodeAt(j) === 10) {
          line++;
          lineStart = j + 1;
        }
      }
      continue;
    }
    const two = src.slice(i, i + 2);
    if (OPS2.has(two)) {
      i += 2;
      push('op', two);
      continue;
    }
    const one = src[i]!;
    if (OPS1.has(one)) {
      i++;
      push('op', one);
      continue;
    }
    err(`invalid character ${JSON.stringify(one)}`, i);
  }
  toks.push({ k: 'eof', v: '', line, col: i - lineStart + 1, start: n, end: n, nl: true, ws: true });
  return toks;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
