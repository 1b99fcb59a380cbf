// Text and Markdown renderings of policy views and diffs. The Markdown is meant to be pasted into a
// pull-request comment as it is: one table per workload, workloads with changes first.
import type { Change, DiffResult } from './diff.js';
import type { ContainerView, EnvEntry, MountView, SandboxView, UserView, WorkloadView } from './model.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One argument as a shell would need it: bare when safe, else JSON-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./$(){}^-]+$/.test(s) ? s : JSON.stringify(s);
}
export function command(args: string[]): string {
  return args.length ? args.map(shellWord).join(' ') : '(none)';
}
export function userText(u: UserView): string {
  const groups = u.groups.length ? ` groups ${u.groups.join(',')}` : '';
  return `${String(u.uid)}:${String(u.gid)}${u.name ? ` (${u.name})` : ''}${groups}`;
}
function envText(e: EnvEntry): string {
  return `${e.name}=${e.value}${e.pattern ? '  (pattern)' : ''}`;
}
function mountText(m: MountView): string {
  return `${m.destination} ← ${m.source || '(none)'} [${m.type}${m.options.length ? ` ${m.options.join(',')}` : ''}]${m.readOnly ? ' read-only' : ''}`;
}
function capsText(c: ContainerView['capabilities']): string {
  if (c.summary === 'default' || c.summary === 'privileged') return `${c.summary} (${c.bounding.length})`;
  return c.bounding.length ? c.bounding.join(' ') : 'none';
}
function imageText(c: ContainerView): string {
  if (c.layers)
    return `${c.image}  (host pull: ${c.layers.length} layer${c.layers.length === 1 ? '' : 's'} pinned by dm-verity root)`;
  return c.imageDigest ? c.image : `${c.image}  (not pinned by digest)`;
}
function storageText(s: Obj): string {
  const opts = Array.isArray(s['options']) ? (s['options'] as unknown[]).join(',') : '';
  return `${String(s['driver'] ?? '?')} ${String(s['source'] ?? '') || '-'} → ${String(s['mount_point'] ?? '')}${opts ? ` [${opts}]` : ''}`;
}
function scalar(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Leaves of a JSON value as `path: value` lines (lists of scalars on one line). */
function leaves(prefix: string, v: unknown, out: string[]): void {
  if (isObj(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) out.push(`${prefix}: {}`);
    for (const k of keys) leaves(prefix ? `${prefix}.${k}` : k, v[k], out);
  } else if (Array.isArray(v) && v.every((x) => !isObj(x) && !Array.isArray(x))) {
    out.push(`${prefix}: ${v.length ? v.map(scalar).join('  ') : '(none)'}`);
  } else if (Array.isArray(v)) {
    if (v.length === 0) out.push(`${prefix}: (none)`);
    v.forEach((x, i) => leaves(`${prefix}[${i}]`, x, out));
  } else out.push(`${prefix}: ${scalar(v)}`);
}

interface Row {
  label: string;
  values: string[];
}

function containerRows(c: ContainerView): Row[] {
  const rows: Row[] = [
    { label: 'image', values: [imageText(c)] },
    { label: 'user', values: [userText(c.user)] },
    { label: 'args', values: [command(c.args)] },
    { label: 'env', values: c.env.length ? c.env.map(envText) : ['(none)'] },
    { label: 'cwd', values: [c.cwd || '(image default)'] },
    { label: 'mounts', values: c.mounts.length ? c.mounts.map(mountText) : ['(none)'] },
    { label: 'capabilities', values: [capsText(c.capabilities)] },
    { label: 'privileged', values: [c.privileged ? 'yes' : 'no'] },
    { label: 'read-only root', values: [scalar(c.readOnlyRoot ?? false)] },
    { label: 'no new privs', values: [scalar(c.noNewPrivileges ?? false)] },
    { label: 'exec', values: c.exec.length ? c.exec.map((x) => command(x)) : ['(none)'] },
  ];
  rows.push({ label: 'namespaces', values: [c.namespaces.join(' ') || '(none)'] });
  rows.push({
    label: 'masked paths',
    values: [c.maskedPaths.length ? `${c.maskedPaths.length}: ${c.maskedPaths.join(' ')}` : 'none'],
  });
  rows.push({
    label: 'read-only paths',
    values: [c.readonlyPaths.length ? `${c.readonlyPaths.length}: ${c.readonlyPaths.join(' ')}` : 'none'],
  });
  const storages = c.storages.filter(
    (s) =>
      s['driver'] !== 'image_guest_pull' && s['driver'] !== 'blk' && s['fstype'] !== 'fuse3.kata-overlay',
  );
  if (storages.length) rows.push({ label: 'storages', values: storages.map(storageText) });
  if (c.devices.length) rows.push({ label: 'devices', values: c.devices.map(scalar) });
  if (c.layers) rows.push({ label: 'layer roots', values: c.layers });
  const ann = Object.entries(c.annotations).map(([k, v]) => `${k}=${scalar(v)}`);
  if (ann.length) rows.push({ label: 'annotations', values: ann });
  const sys = Object.entries(c.sysctls).map(([k, v]) => `${k}=${scalar(v)}`);
  if (sys.length) rows.push({ label: 'sysctls', values: sys });
  const other: string[] = [];
  leaves('', c.other, other);
  if (Object.keys(c.other).length) rows.push({ label: 'other', values: other });
  return rows;
}

function sandboxLines(s: SandboxView): Row[] {
  const rows: Row[] = [];
  const add = (label: string, v: unknown) => {
    const out: string[] = [];
    leaves('', v, out);
    rows.push({ label, values: out.map((l) => l.replace(/^: /, '')) });
  };
  add(
    'storages',
    s.storages.map((x) => (isObj(x) ? storageText(x) : scalar(x))),
  );
  add('network', s.network);
  add('copy file', s.copyFile ?? '(not set)');
  add('streams', s.streams);
  add('exec (all)', s.exec ?? '(not set)');
  add('env patterns', s.envPatterns ?? []);
  add('requests', s.requests);
  add('debug', Object.keys(s.debug).length ? s.debug : '(none)');
  if (s.cluster !== undefined) add('cluster', s.cluster);
  if (s.common !== undefined)
    rows.push({
      label: 'placeholders',
      values: [
        `${Object.keys(isObj(s.common) ? s.common : {}).length} entries in policy_data.common (--json shows them)`,
      ],
    });
  if (Object.keys(s.other).length) add('other', s.other);
  return rows;
}

function title(w: WorkloadView): string {
  const who = w.kind ? `${w.kind}/${w.name}` : w.name;
  return `${who}${w.namespace ? ` (namespace ${w.namespace})` : ''}`;
}

export function showText(views: WorkloadView[]): string {
  const out: string[] = [];
  for (const w of views) {
    out.push(`${title(w)}`);
    out.push(
      `  policy: ${w.annotation}, hash ${w.hash || '(unknown)'}; rules sha256:${w.rules.slice(0, 16)}…`,
    );
    w.containers.forEach((c, i) => {
      out.push(`  [${i + 1}] ${c.name}${c.type === 'sandbox' ? ' (sandbox)' : ''}`);
      for (const r of containerRows(c)) {
        r.values.forEach((v, j) => out.push(`      ${(j === 0 ? r.label : '').padEnd(15)}${v}`));
      }
    });
    out.push('  sandbox');
    for (const r of sandboxLines(w.sandbox))
      r.values.forEach((v, j) => out.push(`      ${(j === 0 ? r.label : '').padEnd(15)}${v}`));
    out.push('');
  }
  return out.join('\n');
}

/** A Markdown table cell: `|` escaped, lines joined with <br>, code spans for values. */
function cell(values: string[]): string {
  return values.map((v) => '`' + v.replace(/`/g, "'").replace(/\|/g, '\\|') + '`').join('<br>');
}
function mdTitle(w: { kind: string; name: string; namespace?: string }): string {
  return `${w.kind ? `${w.kind} ` : ''}\`${w.name}\`${w.namespace ? ` (namespace \`${w.namespace}\`)` : ''}`;
}

export function showMarkdown(views: WorkloadView[]): string {
  const out: string[] = [];
  for (const w of views) {
    out.push(`### ${mdTitle(w)}`, '');
    out.push(
      `Policy hash \`${w.hash}\` (\`${w.annotation}\`), ${w.containers.length} containers in the order the agent creates them.`,
      '',
    );
    const rows = new Map<string, string[]>();
    w.containers.forEach((c, i) => {
      for (const r of containerRows(c)) {
        const cells = rows.get(r.label) ?? new Array<string>(w.containers.length).fill('');
        cells[i] = cell(r.values);
        rows.set(r.label, cells);
      }
    });
    out.push(`| | ${w.containers.map((c) => `**${c.name}**`).join(' | ')} |`);
    out.push(`|---|${w.containers.map(() => '---').join('|')}|`);
    for (const [label, cells] of rows) out.push(`| ${label} | ${cells.join(' | ')} |`);
    out.push('', '| sandbox | |', '|---|---|');
    for (const r of sandboxLines(w.sandbox)) out.push(`| ${r.label} | ${cell(r.values)} |`);
    out.push('');
  }
  return out.join('\n');
}

const short = (s: string) => s.replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/g, 'sha256:$1…');

function valueText(field: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (field === 'user' && isObj(v)) return userText(v as unknown as UserView);
  if (field === 'args' && Array.isArray(v)) return command(v as string[]);
  if (field === 'mounts' && isObj(v)) return mountText(v as unknown as MountView);
  if (field === 'exec') return `\`${scalar(v)}\``;
  if (field === 'storages' && isObj(v)) return storageText(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(' ');
  return scalar(v);
}

/** `image sha256:aa… → sha256:bb…`: for two pins of one image only the digests are interesting. */
function imagePair(before: string, after: string): [string, string] {
  const [nb, db] = before.split('@');
  const [na, da] = after.split('@');
  if (nb === na && db && da) return [short(db), short(da)];
  return [short(before), short(after)];
}

/** One change as a phrase: `env +FOO=bar`, `image sha256:aa… → sha256:bb…`, `-container (image x)`. */
export function changePhrase(c: Change): string {
  if (c.field === 'container')
    return c.before === null
      ? `+container (image ${short(scalar(c.after))})`
      : `-container (image ${short(scalar(c.before))})`;
  if (c.field === 'workload')
    return c.before === null
      ? `+workload (policy ${scalar(c.after)})`
      : `-workload (policy ${scalar(c.before)})`;
  if (c.field === 'image' && typeof c.before === 'string' && typeof c.after === 'string') {
    const [b, a] = imagePair(c.before, c.after);
    return `image ${b} → ${a}`;
  }
  if (c.before === null) return `${c.field} +${valueText(c.field, c.after)}`;
  if (c.after === null) return `${c.field} -${valueText(c.field, c.before)}`;
  return `${c.field} ${short(valueText(c.field, c.before))} → ${short(valueText(c.field, c.after))}`;
}

function groups(changes: Change[]): Map<string, Change[]> {
  const m = new Map<string, Change[]>();
  for (const c of changes) {
    const k = `${c.workload}${c.namespace ? ` (namespace ${c.namespace})` : ''}`;
    m.set(k, [...(m.get(k) ?? []), c]);
  }
  return m;
}

/** Phrases of one container's changes; additions and removals of one field share a phrase (`env +A -B`). */
export function phrases(changes: Change[]): string[] {
  const out: string[] = [];
  let last: { field: string; index: number } | undefined;
  for (const c of changes) {
    const setLike =
      (c.before === null) !== (c.after === null) && c.field !== 'container' && c.field !== 'workload';
    if (setLike && last?.field === c.field) {
      const p = changePhrase(c);
      out[last.index] += ` ${p.slice(c.field.length + 1)}`;
      continue;
    }
    out.push(changePhrase(c));
    last = setLike ? { field: c.field, index: out.length - 1 } : undefined;
  }
  return out;
}

function byContainer(list: Change[]): Map<string, Change[]> {
  const m = new Map<string, Change[]>();
  for (const c of list) m.set(c.container ?? '', [...(m.get(c.container ?? '') ?? []), c]);
  return m;
}

/** A heading line per workload, then one line per container: `  app: env +FOO=bar; exec +\`sh\``. */
export function diffLines(changes: Change[], indent = ''): string[] {
  const out: string[] = [];
  for (const [w, list] of groups(changes)) {
    out.push(`${indent}${w}`);
    for (const [container, cs] of byContainer(list))
      out.push(`${indent}  ${container || '(pod)'}: ${phrases(cs).join('; ')}`);
  }
  return out;
}

export function diffText(r: DiffResult): string {
  const out = diffLines(r.changes);
  if (r.unchanged.length) out.push(`unchanged: ${r.unchanged.join(', ')}`);
  if (r.changes.length === 0) out.push('the policies admit the same');
  return out.join('\n') + '\n';
}

export function diffMarkdown(r: DiffResult): string {
  const g = groups(r.changes);
  const out: string[] = [
    r.changes.length === 0
      ? '**Policies unchanged**: they admit the same.'
      : `**Policy changes**: ${r.changes.length} change${r.changes.length === 1 ? '' : 's'} in ${g.size} workload${g.size === 1 ? '' : 's'}.`,
    '',
  ];
  for (const [w, list] of g) {
    out.push(`### ${w}`, '', '| container | field | before | after |', '|---|---|---|---|');
    for (const [container, cs] of byContainer(list)) {
      // One row per field: removed values under "before", added ones under "after".
      const rows = new Map<string, { before: string[]; after: string[] }>();
      for (const c of cs) {
        const row = rows.get(c.field) ?? { before: [], after: [] };
        const pair =
          c.field === 'image' && typeof c.before === 'string' && typeof c.after === 'string'
            ? imagePair(c.before, c.after)
            : [short(valueText(c.field, c.before)), short(valueText(c.field, c.after))];
        if (pair[0]) row.before.push(pair[0]);
        if (pair[1]) row.after.push(pair[1]);
        rows.set(c.field, row);
      }
      for (const [field, row] of rows)
        out.push(`| ${container || '(pod)'} | ${field} | ${cell(row.before)} | ${cell(row.after)} |`);
    }
    out.push('');
  }
  if (r.unchanged.length) out.push(`Unchanged: ${r.unchanged.map((u) => `\`${u}\``).join(', ')}`, '');
  return out.join('\n');
}

/** `{"workloads":[…]}` for --json: the views as they are (fields may grow). */
export function showJson(views: WorkloadView[]): string {
  return JSON.stringify({ workloads: views }, null, 2) + '\n';
}

export function diffJson(r: DiffResult): string {
  return JSON.stringify({ changes: r.changes, unchanged: r.unchanged }, null, 2) + '\n';
}
