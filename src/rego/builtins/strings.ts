// String builtins (strings.*, sprintf with Go verbs, format_int, ...).
import { BuiltinError } from '../errors.js';
import { isInt } from '../numbers.js';
import { compositeText, normInt, RObject, RSet, stringifyValue, displayValue, type Value } from '../value.js';
import { arr, def, fail, int, num, obj, str } from './registry.js';

const cps = (s: string): string[] => Array.from(s);

def('concat', 2, ([d, c]) => {
  const delim = str('concat', d);
  let parts: Value[];
  if (Array.isArray(c)) parts = c;
  else if (c instanceof RSet) parts = c.sortedValues();
  else
    throw new BuiltinError(
      `\`concat\` expects array/set of strings. Got \`${stringifyValue(c ?? null)}\` instead`,
    );
  for (const p of parts) {
    if (typeof p !== 'string') throw new BuiltinError('`concat` expects array/set of strings.');
  }
  return (parts as string[]).join(delim);
});
def('contains', 2, ([a, b]) => str('contains', a).includes(str('contains', b)));
def('startswith', 2, ([a, b]) => str('startswith', a).startsWith(str('startswith', b)));
def('endswith', 2, ([a, b]) => str('endswith', a).endsWith(str('endswith', b)));
def('lower', 1, ([a]) => str('lower', a).toLowerCase());
def('upper', 1, ([a]) => str('upper', a).toUpperCase());
def('split', 2, ([a, b]) => {
  const s = str('split', a);
  const d = str('split', b);
  if (d === '') return cps(s);
  return s.split(d);
});
def('replace', 3, ([a, b, c]) => {
  const s = str('replace', a);
  const from = str('replace', b);
  const to = str('replace', c);
  if (from === '') return to + cps(s).join(to) + (s ? to : '');
  if (!s.includes(from)) return s;
  return s.replaceAll(from, () => to);
});
def('strings.replace_n', 2, ([patterns, s]) => {
  const o = obj('strings.replace_n', patterns);
  let out = str('strings.replace_n', s);
  const pairs = o
    .sortedEntries()
    .map(([k, v]) => [str('strings.replace_n', k), str('strings.replace_n', v)] as const);
  // Go's strings.NewReplacer: at each position the first matching old string (in argument order) wins
  let res = '';
  let i = 0;
  outer: while (i < out.length) {
    for (const [from, to] of pairs) {
      if (from && out.startsWith(from, i)) {
        res += to;
        i += from.length;
        continue outer;
      }
    }
    res += out[i];
    i++;
  }
  out = res;
  return out;
});
def('strings.reverse', 1, ([a]) => cps(str('strings.reverse', a)).reverse().join(''));
def('strings.count', 2, ([a, b]) => {
  const s = str('strings.count', a);
  const sub = str('strings.count', b);
  if (sub === '') return cps(s).length + 1;
  return s.split(sub).length - 1;
});
def('strings.any_prefix_match', 2, ([a, b]) => {
  const ss = typeof a === 'string' ? [a] : listOfStrings('strings.any_prefix_match', a);
  const ps = typeof b === 'string' ? [b] : listOfStrings('strings.any_prefix_match', b);
  return ss.some((s) => ps.some((p) => s.startsWith(p)));
});
def('strings.any_suffix_match', 2, ([a, b]) => {
  const ss = typeof a === 'string' ? [a] : listOfStrings('strings.any_suffix_match', a);
  const ps = typeof b === 'string' ? [b] : listOfStrings('strings.any_suffix_match', b);
  return ss.some((s) => ps.some((p) => s.endsWith(p)));
});

function listOfStrings(name: string, v: Value | undefined): string[] {
  const xs = Array.isArray(v) ? v : v instanceof RSet ? v.sortedValues() : fail(name, 'array/set', v ?? null);
  return xs.map((x) => str(name, x));
}

function trimSet(cut: string): Set<string> {
  return new Set(cps(cut));
}
function trimLeftChars(s: string, cut: Set<string>): string {
  const c = cps(s);
  let i = 0;
  while (i < c.length && cut.has(c[i]!)) i++;
  return c.slice(i).join('');
}
function trimRightChars(s: string, cut: Set<string>): string {
  const c = cps(s);
  let j = c.length;
  while (j > 0 && cut.has(c[j - 1]!)) j--;
  return c.slice(0, j).join('');
}
def('trim', 2, ([a, b]) =>
  trimRightChars(trimLeftChars(str('trim', a), trimSet(str('trim', b))), trimSet(str('trim', b))),
);
def('trim_left', 2, ([a, b]) => trimLeftChars(str('trim_left', a), trimSet(str('trim_left', b))));
def('trim_right', 2, ([a, b]) => trimRightChars(str('trim_right', a), trimSet(str('trim_right', b))));
def('trim_prefix', 2, ([a, b]) => {
  const s = str('trim_prefix', a);
  const p = str('trim_prefix', b);
  return s.startsWith(p) ? s.slice(p.length) : s;
});
def('trim_suffix', 2, ([a, b]) => {
  const s = str('trim_suffix', a);
  const p = str('trim_suffix', b);
  return p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
});
def('trim_space', 1, ([a]) => str('trim_space', a).replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/gu, ''));
def('indexof', 2, ([a, b]) => {
  const s = cps(str('indexof', a));
  const sub = cps(str('indexof', b));
  if (sub.length === 0) return s.length === 0 ? -1 : 0;
  outer: for (let i = 0; i + sub.length <= s.length; i++) {
    for (let j = 0; j < sub.length; j++) if (s[i + j] !== sub[j]) continue outer;
    return i;
  }
  return -1;
});
def('indexof_n', 2, ([a, b]) => {
  const s = cps(str('indexof_n', a));
  const sub = cps(str('indexof_n', b));
  const out: Value[] = [];
  if (sub.length === 0) return out;
  outer: for (let i = 0; i + sub.length <= s.length; i++) {
    for (let j = 0; j < sub.length; j++) if (s[i + j] !== sub[j]) continue outer;
    out.push(i);
  }
  return out;
});
def('substring', 3, ([a, b, c]) => {
  const s = cps(str('substring', a));
  const start = int('substring', b);
  const len = int('substring', c);
  if (start < 0) throw new BuiltinError('`substring` expects non-negative start');
  if (start >= s.length) return '';
  if (len < 0) return s.slice(start).join('');
  return s.slice(start, start + len).join('');
});
def('format_int', 2, ([a, b]) => {
  const n = num('format_int', a);
  const base = num('format_int', b);
  if (![2, 8, 10, 16].includes(Number(base)))
    throw new BuiltinError('`format_int` expects base to be one of 2, 8, 10, 16');
  const i = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
  return i.toString(Number(base));
});
def('strings.render_template', 2, ([a, b]) => {
  const t = str('strings.render_template', a);
  const vars = obj('strings.render_template', b);
  return t.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_m, name: string) => {
    const v = vars.getStr(name);
    return v === undefined ? '<no value>' : typeof v === 'string' ? v : stringifyValue(v);
  });
});

def('sprintf', 2, ([f, a]) => sprintf(str('sprintf', f), arr('sprintf', a)));

/** Go fmt subset: flags (-+# 0), width, precision and verbs v s d f e g x X o b q t T %. */
export function sprintf(format: string, args: Value[]): string {
  let out = '';
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i++;
    let flags = '';
    while (i < format.length && '-+# 0'.includes(format[i]!)) flags += format[i++];
    let width = '';
    while (i < format.length && /[0-9]/.test(format[i]!)) width += format[i++];
    let prec: number | undefined;
    if (format[i] === '.') {
      i++;
      let p = '';
      while (i < format.length && /[0-9]/.test(format[i]!)) p += format[i++];
      prec = p === '' ? 0 : Number(p);
    }
    const verb = format[i];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (ai >= args.length) throw new BuiltinError(`\`sprintf\`: no argument specified for format verb ${ai}`);
    const v = args[ai++]!;
    let s = formatVerb(verb, v, prec, flags);
    const w = width === '' ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && typeof v !== 'string') {
        const neg = s.startsWith('-');
        s = (neg ? '-' : '') + (neg ? s.slice(1) : s).padStart(w - (neg ? 1 : 0), '0');
      } else s = s.padStart(w);
    }
    out += s;
  }
  if (ai < args.length) {
    out +=
      '%!(EXTRA ' +
      args
        .slice(ai)
        .map((v) => `${goType(v)}=${goValue(v)}`)
        .join(', ') +
      ')';
  }
  return out;
}

function goType(v: Value): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number' || typeof v === 'bigint') return isInt(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'interface {}';
}

function goValue(v: Value): string {
  if (typeof v === 'string') return v;
  return spaced(v);
}

/** regorus prints composite values as JSON with `, ` and `: ` separators */
function spaced(v: Value): string {
  return compositeText(v, spaced) ?? displayValue(v);
}

function formatFloat(n: number, prec: number | undefined, verb: string): string {
  if (verb === 'e') return n.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
  if (verb === 'g') return prec === undefined ? String(n) : String(Number(n.toPrecision(prec)));
  return prec === undefined ? String(n) : n.toFixed(prec);
}

function formatVerb(verb: string, v: Value, prec: number | undefined, flags: string): string {
  switch (verb) {
    case 'v':
    case 's':
      if (typeof v === 'string') return prec === undefined ? v : v.slice(0, prec);
      if (typeof v === 'number' && !Number.isInteger(v) && prec !== undefined) return v.toFixed(prec);
      return goValue(v);
    case 'd':
      if (typeof v === 'bigint') return (flags.includes('+') && v >= 0n ? '+' : '') + v.toString();
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) return `%!d(float64=${v})`;
        return (flags.includes('+') && v >= 0 ? '+' : '') + String(v);
      }
      return `%!d(${goType(v)}=${goValue(v)})`;
    case 'f':
    case 'F':
    case 'e':
    case 'g':
      if (typeof v === 'number' || typeof v === 'bigint') {
        const s = formatFloat(Number(v), prec, verb === 'F' ? 'f' : verb);
        return (flags.includes('+') && Number(v) >= 0 ? '+' : '') + s;
      }
      return `%!${verb}(${goType(v)}=${goValue(v)})`;
    case 'x':
    case 'X': {
      let s: string;
      if (typeof v === 'number' || typeof v === 'bigint') {
        s = isInt(v) ? BigInt(v).toString(16) : Number(v).toString(16);
        if (s.startsWith('-')) s = '-' + (flags.includes('#') ? '0x' : '') + s.slice(1);
        else if (flags.includes('#')) s = '0x' + s;
      } else if (typeof v === 'string') s = Buffer.from(v, 'utf8').toString('hex');
      else return `%!${verb}(${goType(v)}=${goValue(v)})`;
      return verb === 'X' ? s.toUpperCase() : s;
    }
    case 'o':
    case 'O':
      if (typeof v === 'number' || typeof v === 'bigint')
        return '0O' + BigInt(Math.trunc(Number(v))).toString(8);
      return `%!o(${goType(v)}=${goValue(v)})`;
    case 'b':
      if (typeof v === 'number' || typeof v === 'bigint') return isInt(v) ? BigInt(v).toString(2) : String(v);
      return `%!b(${goType(v)}=${goValue(v)})`;
    case 'q':
      if (typeof v === 'string') return JSON.stringify(v);
      return `%!q(${goType(v)}=${goValue(v)})`;
    case 't':
      if (typeof v === 'boolean') return String(v);
      return `%!t(${goType(v)}=${goValue(v)})`;
    case 'T':
      return goType(v);
    default:
      return `%!${verb}(${goType(v)}=${goValue(v)})`;
  }
}

function toNumberValue(v: Value): Value {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?[0-9]+$/.test(t)) return normInt(BigInt(t));
    if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) return Number(t);
    throw new BuiltinError('could not parse string as number');
  }
  throw new BuiltinError(
    `\`to_number\` expects numeric, string, boolean or null argument. Got \`${stringifyValue(v)}\` instead`,
  );
}
def('to_number', 1, ([a]) => toNumberValue(a!));

export { RObject };
