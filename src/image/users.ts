// /etc/passwd and /etc/group across layers, and the image USER resolved against them, following
// genpolicy's rules (docs/policy-generation.md §3). Two readings are kept per layer: genpolicy's
// (exact raw header names `etc/passwd`, `etc/.wh.passwd`, no opaque dirs) and the filesystem's
// (cleaned paths incl. `./etc/passwd`, opaque `etc/`, whiteout of `etc`). The filesystem reading is
// used; a warning says when genpolicy would have read something else.
import { pathComponents, type TarEntry } from './tar.js';
import type { ImageUser } from './types.js';

/** What one layer does to one file: hide the lower layers' version, and/or provide new content. */
export interface FileChange {
  reset: boolean;
  /** Non-empty content from this layer (the last one wins); absent when the layer has none. */
  content?: string;
}

export interface LayerUserFiles {
  /** Filesystem reading. */
  passwd: FileChange;
  group: FileChange;
  /** genpolicy's reading (exact header names only). */
  genpolicy: { passwd: FileChange; group: FileChange };
}

const USER_FILE_LIMIT = 16 << 20;

function cleanPath(path: Buffer): string | null {
  return pathComponents(path.toString('utf8'))?.join('/') ?? null;
}

function apply(change: FileChange, kind: 'content' | 'whiteout', text = ''): void {
  if (kind === 'whiteout') {
    change.reset = true;
    delete change.content;
  } else if (text !== '') {
    change.content = text;
  }
}

/** Collects the passwd/group changes of one layer from its tar entries. */
export class UserFilesCollector {
  readonly result: LayerUserFiles = {
    passwd: { reset: false },
    group: { reset: false },
    genpolicy: { passwd: { reset: false }, group: { reset: false } },
  };

  /** Returns the byte cap if the entry's content is needed (then `onData` follows), else 0. */
  onEntry(e: TarEntry): number {
    // Every path this looks for has an `etc` or `.wh.etc` component, which cleaning keeps: most entries
    // are passed over without decoding their paths (the tar walk runs this for every entry).
    if (!e.path.includes('etc') && !e.headerPath.includes('etc')) return 0;
    const raw = e.headerPath.toString('utf8');
    let want = 0;
    if (raw === 'etc/.wh.passwd') apply(this.result.genpolicy.passwd, 'whiteout');
    else if (raw === 'etc/.wh.group') apply(this.result.genpolicy.group, 'whiteout');
    else if (raw === 'etc/passwd' || raw === 'etc/group') want = USER_FILE_LIMIT;

    const p = cleanPath(e.path);
    if (p === 'etc/.wh.passwd') apply(this.result.passwd, 'whiteout');
    else if (p === 'etc/.wh.group') apply(this.result.group, 'whiteout');
    else if (p === 'etc/.wh..wh..opq' || p === '.wh.etc') {
      // Opaque or deleted etc/ hides lower layers' files; this layer's own files still count.
      this.result.passwd.reset = true;
      this.result.group.reset = true;
    } else if ((p === 'etc/passwd' || p === 'etc/group') && (e.type === '0' || e.type === '\0')) {
      want = USER_FILE_LIMIT;
    }
    return want;
  }

  onData(e: TarEntry, data: Buffer): void {
    const text = data.toString('utf8');
    const raw = e.headerPath.toString('utf8');
    if (raw === 'etc/passwd') apply(this.result.genpolicy.passwd, 'content', text);
    if (raw === 'etc/group') apply(this.result.genpolicy.group, 'content', text);
    const p = cleanPath(e.path);
    if (e.type === '0' || e.type === '\0') {
      if (p === 'etc/passwd') apply(this.result.passwd, 'content', text);
      if (p === 'etc/group') apply(this.result.group, 'content', text);
    }
  }
}

function fold(changes: FileChange[]): string {
  let cur = '';
  for (const c of changes) {
    if (c.reset) cur = '';
    if (c.content !== undefined) cur = c.content;
  }
  return cur;
}

/** Effective passwd/group after all layers (bottom first), plus warnings where genpolicy differs. */
export function mergeUserFiles(layers: LayerUserFiles[]): {
  passwd: string;
  group: string;
  warnings: string[];
} {
  const passwd = fold(layers.map((l) => l.passwd));
  const group = fold(layers.map((l) => l.group));
  const gPasswd = fold(layers.map((l) => l.genpolicy.passwd));
  const gGroup = fold(layers.map((l) => l.genpolicy.group));
  const warnings: string[] = [];
  if (passwd !== gPasswd) {
    warnings.push(
      'effective /etc/passwd differs from what genpolicy reads (it only matches the exact tar name "etc/passwd" and ignores opaque directories); using the filesystem view',
    );
  }
  if (group !== gGroup) {
    warnings.push(
      'effective /etc/group differs from what genpolicy reads (it only matches the exact tar name "etc/group" and ignores opaque directories); using the filesystem view',
    );
  }
  return { passwd, group, warnings };
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const ID = /^[0-9]+$/;

function parseId(s: string): number | null {
  if (!ID.test(s)) return null;
  const n = Number(s);
  return n <= 0xffffffff ? n : null;
}

/**
 * The colon-separated lines of an /etc file, each read by `read`; a line without exactly `fields`
 * fields, or one `read` refuses (an error text), rejects the whole file, as genpolicy does.
 */
function parseRecords<T>(text: string, fields: number, read: (f: string[]) => T | string): T[] | string {
  const out: T[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const f = line.split(':');
    if (f.length !== fields) return `line ${i + 1} does not have ${fields} fields`;
    const record = read(f);
    if (typeof record === 'string') return `line ${i + 1} ${record}`;
    out.push(record);
  }
  return out;
}

/** Every line must have 7 fields and numeric ids, else the whole file is rejected (genpolicy). */
export function parsePasswd(text: string): PasswdEntry[] | string {
  return parseRecords<PasswdEntry>(text, 7, (f) => {
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (uid === null || gid === null) return 'has a non-numeric UID or GID';
    return { name: f[0]!, uid, gid };
  });
}

export function parseGroup(text: string): GroupEntry[] | string {
  return parseRecords<GroupEntry>(text, 4, (f) => {
    const gid = parseId(f[2]!);
    if (gid === null) return 'has a non-numeric GID';
    return { name: f[0]!, gid, members: f[3] === '' ? [] : f[3]!.split(',') };
  });
}

/**
 * The image `USER` (name, uid, `user:group`, `uid:gid`) resolved as genpolicy does (initdata era):
 * only the part before `:` counts; a name is looked up in passwd (warning and 0 when missing);
 * GID is the passwd GID of that UID (else 0); additional GIDs are the groups listing the user name,
 * except a group named like the user.
 */
export function resolveImageUser(
  userSpec: string,
  passwd: string,
  group: string,
): { user: ImageUser; warnings: string[] } {
  const warnings: string[] = [];
  const user: ImageUser = { uid: 0, gid: 0, additionalGids: [], username: '' };
  const parsedPasswd = passwd === '' ? [] : parsePasswd(passwd);
  const passwdEntries = typeof parsedPasswd === 'string' ? [] : parsedPasswd;
  let passwdWarned = false;
  const passwdProblem = (): void => {
    if (typeof parsedPasswd === 'string' && !passwdWarned) {
      warnings.push(`/etc/passwd ignored: ${parsedPasswd}`);
      passwdWarned = true;
    }
  };

  let spec = userSpec;
  if (spec.includes(':')) {
    const parts = spec.split(':');
    if (parts.length > 2) {
      warnings.push(`image USER "${userSpec}" has more than one ':'; using UID 0`);
      spec = '';
    } else {
      spec = parts[0]!;
    }
  }
  if (spec !== '') {
    const numeric = parseId(spec);
    if (numeric !== null) {
      user.uid = numeric;
    } else {
      passwdProblem();
      const entry = passwdEntries.find((e) => e.name === spec);
      if (entry) user.uid = entry.uid;
      else if (typeof parsedPasswd !== 'string')
        warnings.push(`image USER "${spec}" not found in /etc/passwd; using UID 0`);
      else warnings.push(`image USER "${spec}" cannot be resolved without a valid /etc/passwd; using UID 0`);
    }
  }

  const byUid = passwdEntries.find((e) => e.uid === user.uid);
  if (byUid) {
    user.gid = byUid.gid;
    user.username = byUid.name;
  } else if (typeof parsedPasswd === 'string') {
    passwdProblem();
  }

  if (user.username !== '' && group !== '') {
    const groups = parseGroup(group);
    if (typeof groups === 'string') {
      warnings.push(`/etc/group ignored: ${groups}`);
    } else {
      const gids = new Set<number>();
      for (const g of groups) {
        if (g.name !== user.username && g.members.includes(user.username)) gids.add(g.gid);
      }
      user.additionalGids = [...gids].sort((a, b) => a - b);
    }
  }
  return { user, warnings };
}
