// Kubernetes `$(VAR)` expansion and the placeholders the rules substitute at request time.

/** Placeholders our rules (and genpolicy's) replace with request values or regexes. */
export const RUNTIME_PLACEHOLDERS = [
  'bundle-id',
  'host-ip',
  'host-name',
  'node-name',
  'pod-ip',
  'pod-uid',
  'sandbox-id',
  'sandbox-name',
  'sandbox-namespace',
  'resource-field',
  'todo-annotation',
  'job-completion-index',
] as const;

const PLACEHOLDER = new RegExp(`\\$\\((?:${RUNTIME_PLACEHOLDERS.join('|')})\\)`, 'g');

/**
 * Kubernetes' expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` is an escaped
 * `$`, `$(NAME)` is replaced when NAME is defined, anything else is kept as written.
 */
export function expandK8s(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? input.slice(i, close + 1);
      i = close + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const REGEX_META = /[\\^$.|?*+()[\]{}]/g;

export function escapeRegex(s: string): string {
  return s.replace(REGEX_META, '\\$&');
}

/**
 * A value the request must match. Literal values stay literal (the rules compare them exactly).
 * A value holding `$(` becomes a template: literal parts regex-escaped, known placeholders kept, so
 * the rules can turn it into an anchored regex (and genpolicy's rules, which also regex-match such
 * values, see the same meaning).
 */
export function templateValue(s: string): string {
  if (!s.includes('$(')) return s;
  let out = '';
  let last = 0;
  for (const m of s.matchAll(PLACEHOLDER)) {
    out += escapeRegex(s.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeRegex(s.slice(last));
}
