// The text print() writes, byte for byte as the Kata agent's engine writes it, so that our print
// lines can be compared with the agent's logs. Facts from microsoft/regorus at the commit the agent
// pins (kata-containers src/agent/policy/Cargo.toml, 4.1.0: 898643129e36…), src/interpreter.rs
// `eval_print`/`to_printable`, src/value.rs (Display = serde_json::to_string) and src/number.rs
// (`format_decimal`, `Serialize for Number`):
// - arguments are separated by one space; an undefined argument is `<undefined>`; a string argument
//   is written raw, without quotes;
// - arrays are `[a, b]`, sets `{a, b}` (sorted), objects `{k: v, k2: v2}` (keys sorted, written as
//   values, so string keys are quoted) — a space after every `,` and `:`; `set()` and `{}` are both `{}`;
// - anything else is its compact JSON text: strings quoted with JSON escapes, null, booleans, and
//   numbers as Rust formats them and serde_json (without arbitrary_precision, as the agent builds it)
//   re-reads them: integers that fit u64/i64 exactly, everything else through an f64 written the way
//   the `ryu` crate writes it (`1.1`, `0.00001`, `1e-6`, `1e20`, `1.5e300`).
import { compositeText, type Value } from './value.js';

/** One print() argument (undefined when the argument had no value). */
export function printArg(v: Value | undefined): string {
  if (v === undefined) return '<undefined>';
  if (typeof v === 'string') return v;
  return printable(v);
}

/** regorus' to_printable: containers with ", " and ": ", scalars as JSON. */
export function printable(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return printNumber(v);
    case 'bigint':
      return printInteger(v.toString());
  }
  return compositeText(v, printable) ?? String(v);
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

/** A number as regorus serializes it: Rust's decimal text, re-read by serde_json. */
function printNumber(n: number): string {
  // regorus writes NaN as "NaN", which serde_json cannot read back; infinities do not occur in Rego.
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return 'null';
  if (Number.isInteger(n)) {
    if (Object.is(n, -0)) return '0'; // Rust writes -0.0 as "-0", serde_json reads it as the integer 0
    if (Number.isSafeInteger(n)) return String(n); // the common case: exact in u64/i64
    // Rust's f64 Display never uses exponents: the shortest digits padded with zeros.
    const { digits, exp } = shortest(n);
    const text = (n < 0 ? '-' : '') + digits + '0'.repeat(Math.max(0, exp - digits.length));
    return printInteger(text);
  }
  return ryu(n);
}

/** An integer's decimal text as serde_json re-serializes it: exact within u64/i64, else as an f64. */
function printInteger(text: string): string {
  const b = BigInt(text);
  if (b <= U64_MAX && b >= I64_MIN) return b.toString();
  return ryu(Number(text));
}

/** Shortest round-trip digits of |n| (no leading/trailing zeros) and the decimal point position. */
function shortest(n: number): { digits: string; exp: number } {
  const [mant, e] = Math.abs(n).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  return { digits, exp: Number(e) + 1 };
}

/** f64 text in the `ryu` crate's format (what serde_json writes for floats). */
function ryu(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const { digits, exp: kk } = shortest(n);
  const len = digits.length;
  const k = kk - len;
  if (k >= 0 && kk <= 16) return sign + digits + '0'.repeat(k) + '.0';
  if (kk > 0 && kk <= 16) return sign + digits.slice(0, kk) + '.' + digits.slice(kk);
  if (kk > -5 && kk <= 0) return sign + '0.' + '0'.repeat(-kk) + digits;
  const e = String(kk - 1);
  return sign + (len === 1 ? digits : digits[0] + '.' + digits.slice(1)) + 'e' + e;
}
