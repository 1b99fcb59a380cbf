// Policy-aware explanation of a refused CreateContainerRequest: which container of `policy_data` the
// request was most likely meant to match, and which fields differ. The rules are the authority;
// this comparison is a diagnostic approximation of them (placeholders such as `$(sfprefix)` and
// regex annotation values are matched loosely), written for the question users ask when a pod does
// not start: "what in my pod differs from what the policy expects?".

import { jsonStringify } from '../../rego/index.js';
import { arr, obj, strs, type Obj } from '../loose.js';

export interface FieldDiff {
  /** Field path, e.g. `OCI.Process.Args` or `OCI.Mounts[/etc/hosts].options`. */
  field: string;
  policy: unknown;
  request: unknown;
  /** Extra words when the raw values alone do not say it (e.g. which env entries are not allowed). */
  note?: string;
}

export interface ContainerMatch {
  /** Index into `policy_data.containers`. */
  index: number;
  /** A name for the container: its container-name annotation, else image, else `#index`. */
  label: string;
  matched: number;
  compared: number;
  differences: FieldDiff[];
}

const regexCache = new Map<string, RegExp[]>();
const PLACEHOLDER = /\$\([a-z0-9_-]+\)/gi;

function compile(source: string): RegExp[] {
  try {
    return [new RegExp(source)];
  } catch {
    return [];
  }
}

/** Candidate regexes for a policy value; computed once per distinct value. */
function patternsOf(policy: string): RegExp[] {
  let res = regexCache.get(policy);
  if (res) return res;
  res = [];
  if (policy.startsWith('^')) {
    res.push(...compile(policy.replace(PLACEHOLDER, '.*')));
  } else if (policy.includes('$(')) {
    // Generators write the literal parts of a template regex-escaped (the rules regex-match it), but
    // hand-written policies may not: try the parts as regex first, then as literal text.
    res.push(...compile('^' + policy.replace(PLACEHOLDER, '.*') + '$'));
    const literal = policy.split(PLACEHOLDER).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    res.push(...compile('^' + literal.join('.*') + '$'));
  }
  regexCache.set(policy, res);
  return res;
}

/**
 * Whether a policy string admits a request string: equal, or the policy string is a template with
 * `$(name)` placeholders (each matching anything), or it is an anchored regex (`^…$`).
 */
export function policyStringMatches(policy: string, request: string): boolean {
  if (policy === request) return true;
  if (policy.replace(/\$\$/g, '$') === request) return true;
  return patternsOf(policy).some((re) => re.test(request));
}

function valuesMatch(policy: unknown, request: unknown): boolean {
  if (typeof policy === 'string' && typeof request === 'string') return policyStringMatches(policy, request);
  if (Array.isArray(policy) && Array.isArray(request)) {
    return policy.length === request.length && policy.every((p, i) => valuesMatch(p, request[i]));
  }
  if (typeof policy === 'object' && policy !== null && typeof request === 'object' && request !== null) {
    const p = policy as Obj;
    const r = request as Obj;
    return Object.keys(p).every((k) => valuesMatch(p[k], r[k]));
  }
  return (
    policy === request || (policy === undefined && (request === null || request === false || request === ''))
  );
}

/** Expands capability placeholders (`$(default_caps)`) from `policy_data.common`. */
function expandCaps(list: unknown, common: Obj): string[] {
  return strs(list).flatMap((c) => {
    const m = /^\$\((\w+)\)$/.exec(c);
    if (m) return strs(common[m[1]!]);
    return [c];
  });
}

interface Comparison {
  field: string;
  ok: boolean;
  diff?: FieldDiff;
}

function compareContainer(policyContainer: unknown, input: Obj, policyData: Obj): Comparison[] {
  const pc = obj(policyContainer);
  const pOCI = obj(pc['OCI']);
  const rOCI = obj(input['OCI']);
  const pProc = obj(pOCI['Process']);
  const rProc = obj(rOCI['Process']);
  const common = obj(policyData['common']);
  const out: Comparison[] = [];
  const simple = (field: string, p: unknown, r: unknown, note?: string) => {
    const ok = valuesMatch(p, r);
    out.push({
      field,
      ok,
      ...(ok ? {} : { diff: { field, policy: p, request: r, ...(note ? { note } : {}) } }),
    });
  };

  // Annotations the policy pins (container name, image, sandbox name/namespace, container type).
  const pAnn = obj(pOCI['Annotations']);
  const rAnn = obj(rOCI['Annotations']);
  for (const key of Object.keys(pAnn).sort()) {
    if (!key.startsWith('io.kubernetes.cri.') && !key.startsWith('io.katacontainers.')) continue;
    simple(`OCI.Annotations["${key}"]`, pAnn[key], rAnn[key]);
  }

  // Only what the policy container pins is compared: a field it leaves out is not checked there.
  if ('Args' in pProc) simple('OCI.Process.Args', pProc['Args'] ?? [], rProc['Args'] ?? []);
  if ('Cwd' in pProc) simple('OCI.Process.Cwd', pProc['Cwd'], rProc['Cwd']);
  if ('Terminal' in pProc) simple('OCI.Process.Terminal', pProc['Terminal'], rProc['Terminal']);
  if ('NoNewPrivileges' in pProc)
    simple('OCI.Process.NoNewPrivileges', pProc['NoNewPrivileges'], rProc['NoNewPrivileges']);

  const pUser = obj(pProc['User']);
  const rUser = obj(rProc['User']);
  for (const k of ['UID', 'GID', 'AdditionalGids'] as const) {
    if (k in pUser) simple(`OCI.Process.User.${k}`, pUser[k], rUser[k]);
  }

  // Env: every request entry must be allowed by a policy entry or by allow_env_regex.
  const allowEnvRegex = strs(
    obj(obj(policyData['request_defaults'])['CreateContainerRequest'])['allow_env_regex'],
  );
  const pEnv = strs(pProc['Env']);
  const rEnv = strs(rProc['Env']);
  const notAllowed = rEnv.filter(
    (e) => !pEnv.some((p) => policyStringMatches(p, e)) && !allowEnvRegex.some((re) => safeTest(re, e)),
  );
  const missing = pEnv.filter((p) => !rEnv.some((e) => policyStringMatches(p, e)));
  if (!('Env' in pProc)) {
    // not pinned by the policy container
  } else if (notAllowed.length === 0) out.push({ field: 'OCI.Process.Env', ok: true });
  else {
    out.push({
      field: 'OCI.Process.Env',
      ok: false,
      diff: {
        field: 'OCI.Process.Env',
        policy: missing,
        request: notAllowed,
        note:
          `request has ${notAllowed.length} entr${notAllowed.length === 1 ? 'y' : 'ies'} the policy does not allow` +
          (missing.length ? `; policy expects ${missing.length} not in the request` : ''),
      },
    });
  }

  const pCaps = obj(pProc['Capabilities']);
  const rCaps = obj(rProc['Capabilities']);
  for (const set of ['Bounding', 'Effective', 'Permitted', 'Inheritable', 'Ambient']) {
    if (!(set in pCaps)) continue;
    const p = expandCaps(pCaps[set], common);
    const r = strs(rCaps[set]);
    const extra = r.filter((c) => !p.includes(c));
    const ok = extra.length === 0;
    out.push({
      field: `OCI.Process.Capabilities.${set}`,
      ok,
      ...(ok
        ? {}
        : {
            diff: {
              field: `OCI.Process.Capabilities.${set}`,
              policy: p,
              request: r,
              note: `not allowed: ${extra.join(', ')}`,
            },
          }),
    });
  }

  const pRoot = obj(pOCI['Root']);
  if ('Readonly' in pRoot) simple('OCI.Root.Readonly', pRoot['Readonly'], obj(rOCI['Root'])['Readonly']);

  if ('Mounts' in pOCI) compareMounts(arr(pOCI['Mounts']), arr(rOCI['Mounts']), out);

  if ('sandbox_pidns' in pc) simple('sandbox_pidns', pc['sandbox_pidns'], input['sandbox_pidns'] ?? false);
  if ('storages' in pc) {
    const storages = (s: unknown) => arr(s).filter((x) => obj(x)['driver'] !== 'image_guest_pull').length;
    const ps = storages(pc['storages']);
    const rs = storages(input['storages']);
    out.push({
      field: 'storages',
      ok: ps === rs,
      ...(ps === rs
        ? {}
        : { diff: { field: 'storages', policy: `${ps} storages`, request: `${rs} storages` } }),
    });
  }
  return out;
}

function compareMounts(pMounts: unknown[], rMounts: unknown[], out: Comparison[]): void {
  const byDest = (list: unknown[]) =>
    new Map(list.map((m) => [String(obj(m)['destination']), obj(m)] as const));
  const p = byDest(pMounts);
  const r = byDest(rMounts);
  const unexpected = [...r.keys()].filter((d) => !p.has(d));
  const absent = [...p.keys()].filter((d) => !r.has(d));
  const ok = unexpected.length === 0 && absent.length === 0;
  out.push({
    field: 'OCI.Mounts',
    ok,
    ...(ok
      ? {}
      : {
          diff: {
            field: 'OCI.Mounts',
            policy: absent,
            request: unexpected,
            note:
              (unexpected.length ? `mounts the policy does not expect: ${unexpected.join(', ')}` : '') +
              (unexpected.length && absent.length ? '; ' : '') +
              (absent.length ? `mounts the policy expects but the request lacks: ${absent.join(', ')}` : ''),
          },
        }),
  });
  for (const [dest, pm] of p) {
    const rm = r.get(dest);
    if (!rm) continue;
    for (const k of ['type_', 'source', 'options'] as const) {
      if (!(k in pm)) continue;
      const field = `OCI.Mounts[${dest}].${k}`;
      const good = k === 'options' ? sameSet(strs(pm[k]), strs(rm[k])) : valuesMatch(pm[k], rm[k]);
      out.push({ field, ok: good, ...(good ? {} : { diff: { field, policy: pm[k], request: rm[k] } }) });
    }
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function safeTest(re: string, s: string): boolean {
  try {
    return new RegExp(re).test(s);
  } catch {
    return false;
  }
}

function labelOf(c: unknown, index: number): string {
  const ann = obj(obj(obj(c)['OCI'])['Annotations']);
  const name = ann['io.kubernetes.cri.container-name'];
  const image = ann['io.kubernetes.cri.image-name'];
  const type = ann['io.kubernetes.cri.container-type'];
  if (typeof name === 'string') return `"${name}"` + (typeof image === 'string' ? ` (image ${image})` : '');
  if (type === 'sandbox' || typeof image !== 'string') return `#${index} (pause container)`;
  return `image ${image}`;
}

/**
 * Ranks the policy's containers by how many compared fields admit the request. A matching
 * container-name annotation dominates: a user who renamed nothing wants the diff against "their"
 * container even if another one happens to share more defaults.
 */
export function closestContainers(policyData: unknown, input: unknown): ContainerMatch[] {
  const pd = obj(policyData);
  const containers = arr(pd['containers']);
  const request = obj(input);
  const rName = obj(obj(request['OCI'])['Annotations'])['io.kubernetes.cri.container-name'];
  const scored = containers.map((c, index) => {
    const comps = compareContainer(c, request, pd);
    const matched = comps.filter((x) => x.ok).length;
    const pName = obj(obj(obj(c)['OCI'])['Annotations'])['io.kubernetes.cri.container-name'];
    const bonus = rName !== undefined && pName === rName ? 1000 : 0;
    return {
      rank: matched + bonus,
      match: {
        index,
        label: labelOf(c, index),
        matched,
        compared: comps.length,
        differences: comps.flatMap((x) => (x.diff ? [x.diff] : [])),
      } satisfies ContainerMatch,
    };
  });
  scored.sort((a, b) => b.rank - a.rank || a.match.index - b.match.index);
  return scored.map((s) => s.match);
}

const MAX_VALUE = 200;

export function formatValue(v: unknown): string {
  const s = v === undefined ? 'undefined' : jsonStringify(v);
  // Cut in the middle: the end of a path or list is as telling as its start.
  return s.length > MAX_VALUE ? s.slice(0, MAX_VALUE / 2) + ' … ' + s.slice(s.length - MAX_VALUE / 2 + 3) : s;
}

/** Human-readable report of the closest container(s), for the explain output. */
export function formatContainerAnalysis(matches: ContainerMatch[], indent = '  '): string[] {
  const best = matches[0];
  if (!best) return [`${indent}policy_data has no containers to compare with`];
  const lines = [
    `${indent}closest policy container: ${best.label} (policy_data.containers[${best.index}]), ` +
      `${best.matched} of ${best.compared} compared fields match`,
  ];
  if (best.differences.length === 0) {
    lines.push(
      `${indent}  no difference in the compared fields; the refusal comes from a check not compared here (see the failed expressions)`,
    );
  }
  for (const d of best.differences) {
    if (d.note) lines.push(`${indent}  ${d.field}: ${d.note}`);
    else lines.push(`${indent}  ${d.field}: differs`);
    if (d.field === 'OCI.Process.Env') {
      for (const e of d.request as string[]) lines.push(`${indent}      request: ${formatValue(e)}`);
      for (const e of d.policy as string[]) lines.push(`${indent}      policy:  ${formatValue(e)}`);
    } else if (d.field !== 'OCI.Mounts') {
      lines.push(`${indent}      policy:  ${formatValue(d.policy)}`);
      lines.push(`${indent}      request: ${formatValue(d.request)}`);
    }
  }
  const runnerUp = matches[1];
  if (runnerUp) {
    lines.push(
      `${indent}next closest: ${runnerUp.label} (${runnerUp.matched} of ${runnerUp.compared} match)`,
    );
  }
  return lines;
}
