// WWW-Authenticate parsing (RFC 7235): several challenges per header line, several header lines,
// quoted strings with backslash escapes, case-insensitive scheme and parameter names.
// The Go clients stop at one challenge per line; registries behind proxies do send several.

export interface Challenge {
  /** Lower-cased scheme: `bearer`, `basic`, ... */
  scheme: string;
  /** Lower-cased parameter names. */
  params: Record<string, string>;
  token68?: string;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipSpaceAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && tchar.test(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }
  quoted(): string | undefined {
    // assumes current char is '"'
    this.pos++;
    let out = '';
    while (!this.done) {
      const c = this.s[this.pos++] as string;
      if (c === '\\') {
        if (this.done) return undefined;
        out += this.s[this.pos++];
      } else if (c === '"') {
        return out;
      } else {
        out += c;
      }
    }
    return undefined; // unterminated
  }
}

function parseLine(line: string, out: Challenge[]): void {
  const sc = new Scanner(line);
  let current: Challenge | undefined;
  for (;;) {
    sc.skipSpaceAndCommas();
    if (sc.done) return;
    const start = sc.pos;
    const name = sc.token();
    if (!name) return; // malformed: keep what we have
    sc.skipSpace();
    if (sc.peek() === '=' && current) {
      // auth-param (name = value), unless it is the tail of a token68 such as "abc=="
      sc.pos++;
      sc.skipSpace();
      let value: string | undefined;
      if (sc.peek() === '"') value = sc.quoted();
      else value = sc.token();
      if (value === undefined) return;
      current.params[name.toLowerCase()] = value;
      continue;
    }
    // A new challenge: scheme, then optionally a token68 or the first auth-param.
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    // token68 (e.g. `Negotiate abc==`): a lone value that is not followed by `=value`.
    const m = /^[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|$)/.exec(line.slice(sc.pos));
    if (m && sc.pos > start + name.length) {
      current.token68 = m[0].trim();
      sc.pos += m[0].length;
    }
  }
}

/** Parses one or more WWW-Authenticate header values into challenges, in order. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const lines = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const line of lines) parseLine(line, out);
  return out;
}

const preference = ['bearer', 'basic'];

/** The challenge we answer: Bearer over Basic; unknown schemes are ignored. */
export function preferredChallenge(challenges: Challenge[]): Challenge | undefined {
  for (const scheme of preference) {
    const c = challenges.find((ch) => ch.scheme === scheme);
    if (c) return c;
  }
  return undefined;
}
