// Policy settings: our default per flavour, or the user's file (-s), plus a drop-in directory of
// RFC 6902 JSON patches applied in file-name order. Validated so that a mistake is reported with the
// JSON pointer of the offending value instead of producing a policy that silently denies pods.
import { readdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ContrastError } from '../internal/errors.js';
import { log } from '../internal/log.js';
import type { KubeFile } from '../kube/index.js';

export type Flavour = 'host-pull' | 'guest-pull';
export const FLAVOURS: readonly Flavour[] = ['host-pull', 'guest-pull'];

export interface PolicyOptions {
  flavour: Flavour;
  /** Rego rules file replacing our rules.rego (e.g. upstream Kata's). */
  rulesPath?: string;
  /** Settings file (or a directory holding genpolicy-settings.json + genpolicy-settings.d/). */
  settingsPath?: string;
  /** Directory of *.json RFC 6902 patches applied to the settings in file-name order. */
  settingsDropInDir?: string;
  /** Extra files with ConfigMaps/Secrets (--config-file). */
  configFiles?: KubeFile[];
}

export interface MountTemplate {
  destination: string;
  type_: string;
  /** Absent in genpolicy's settings for bind mounts: `$(sfprefix)<file name>$` is derived. */
  source?: string;
  options: string[];
}

export interface ContainerTemplate {
  Root: { Path: string; Readonly: boolean };
  Mounts: MountTemplate[];
  Annotations: Record<string, string>;
  Process?: { Args?: string[]; Env?: string[]; NoNewPrivileges?: boolean };
  Linux: { MaskedPaths: string[]; ReadonlyPaths: string[]; Sysctl?: Record<string, string> };
}

export interface VolumeTemplate {
  mount_type: string;
  mount_source: string;
  mount_point: string;
  driver: string;
  source?: string;
  fstype: string;
  options: string[];
  driver_options?: string[];
  shared?: boolean;
}

export interface StorageSpec {
  driver: string;
  driver_options: string[];
  source: string;
  fstype: string;
  options: string[];
  mount_point: string;
  fs_group: unknown;
  /** Kata 4.x Storage.shared (the storage is used by several containers). */
  shared?: boolean;
}

export interface PolicySettings {
  pause_container: ContainerTemplate;
  other_container: ContainerTemplate;
  volumes: { emptyDir: VolumeTemplate; emptyDir_memory: VolumeTemplate; configMap: VolumeTemplate } & Record<
    string,
    VolumeTemplate
  >;
  mount_destinations: string[];
  sandbox: { storages: StorageSpec[] };
  common: Record<string, unknown> & {
    cpath: string;
    sfprefix: string;
    default_caps: string[];
    privileged_caps: string[];
  };
  kata_config: { oci_version: string; enable_configmap_secret_storages: boolean };
  cluster_config: { pause_container_image: string; guest_pull: boolean; pause_container_id_policy: string };
  request_defaults: Record<string, unknown> & {
    CreateContainerRequest: { allow_env_regex: string[] };
    CopyFileRequest: string[];
    ExecProcessRequest: { allowed_commands: string[][]; regex: string[]; commands?: unknown[] };
  };
  devices?: unknown;
  /** Where the settings came from, for messages. Not part of the policy. */
  readonly source?: string;
}

export function defaultSettingsPath(flavour: Flavour): string {
  return fileURLToPath(new URL(`./settings/${flavour}.json`, import.meta.url));
}

export function isFlavour(v: string): v is Flavour {
  return (FLAVOURS as readonly string[]).includes(v);
}

export async function loadPolicySettings(options: PolicyOptions): Promise<PolicySettings> {
  if (!isFlavour(options.flavour)) {
    throw new ContrastError(`unknown flavour "${String(options.flavour)}"`, {
      hint: `use one of: ${FLAVOURS.join(', ')}`,
    });
  }
  let path = options.settingsPath ?? defaultSettingsPath(options.flavour);
  const dropIns: string[] = [];
  if (options.settingsPath && (await isDirectory(options.settingsPath))) {
    // genpolicy's layout: <dir>/genpolicy-settings.json + <dir>/genpolicy-settings.d/*.json
    path = join(options.settingsPath, 'genpolicy-settings.json');
    const d = join(options.settingsPath, 'genpolicy-settings.d');
    if (await isDirectory(d)) dropIns.push(d);
  }
  if (options.settingsDropInDir) dropIns.push(options.settingsDropInDir);

  let settings = await readJson(path, 'settings');
  for (const dir of dropIns) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    } catch (err) {
      throw new ContrastError(
        `${dir}: cannot read settings drop-in directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const file = join(dir, name);
      const patch = await readJson(file, 'settings patch');
      settings = applySettingsPatch(settings, patch, file);
      log.debug(`applied settings patch ${file}`);
    }
  }
  validateSettings(settings, path);
  return withDefaults(settings as PolicySettings, path);
}

// What the keys a settings file may leave out mean (genpolicy's own file leaves them out).
const KNOWN_TOP_LEVEL = new Set([
  'pause_container',
  'other_container',
  'volumes',
  'devices',
  'mount_destinations',
  'sandbox',
  'common',
  'kata_config',
  'cluster_config',
  'request_defaults',
]);

function withDefaults(s: PolicySettings, source: string): PolicySettings {
  for (const k of Object.keys(s)) {
    if (!KNOWN_TOP_LEVEL.has(k)) log.debug(`${source}: settings key "${k}" is not used; ignored`);
  }
  const pause = s.pause_container;
  const other = s.other_container;
  pause.Linux ??= { MaskedPaths: [], ReadonlyPaths: [] };
  other.Linux ??= { MaskedPaths: [], ReadonlyPaths: [] };
  pause.Root.Readonly ??= true;
  other.Root.Readonly ??= false;
  pause.Linux.MaskedPaths ??= [];
  pause.Linux.ReadonlyPaths ??= [];
  // genpolicy's other_container carries no masked/read-only paths: containerd's defaults apply,
  // the same lists as for the pause container.
  other.Linux.MaskedPaths ??= [...pause.Linux.MaskedPaths];
  other.Linux.ReadonlyPaths ??= [...pause.Linux.ReadonlyPaths];
  const cc = s.cluster_config as PolicySettings['cluster_config'] & { pause_container_id_policy?: string };
  if (cc.pause_container_id_policy === undefined) {
    log.debug(`${source}: cluster_config.pause_container_id_policy not set; using "v1"`);
    cc.pause_container_id_policy = 'v1';
  }
  return s;
}

/** Applies one RFC 6902 patch document; errors name the file, the operation index and its path. */
export function applySettingsPatch(settings: unknown, patch: unknown, file: string): unknown {
  if (!Array.isArray(patch))
    throw new ContrastError(`${file}: a settings patch must be a JSON array of RFC 6902 operations`);
  const doc = fastJsonPatch.deepClone(settings) as unknown;
  patch.forEach((op: unknown, i) => {
    const path = typeof op === 'object' && op !== null ? String((op as { path?: unknown }).path) : '?';
    try {
      const err = fastJsonPatch.validate([op as Operation], doc);
      if (err) throw err;
      fastJsonPatch.applyOperation(doc, op as Operation, false, true);
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new ContrastError(`${file}: operation ${i} (path ${path}) cannot be applied: ${msg}`, {
        code: 'SETTINGS_PATCH',
      });
    }
  });
  return doc;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ContrastError(
      `${path}: cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ContrastError(`${path}: ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

type Check =
  | 'string'
  | 'boolean'
  | 'boolean?'
  | 'string?'
  | 'string[]'
  | 'string[]?'
  | 'object'
  | 'mounts'
  | 'string[][]';

// What the generator and our rules read; everything else is passed through to policy_data untouched.
const REQUIRED: Array<[string, Check]> = [
  ['/pause_container/Root/Path', 'string'],
  ['/pause_container/Root/Readonly', 'boolean?'],
  ['/pause_container/Mounts', 'mounts'],
  ['/pause_container/Annotations', 'object'],
  ['/pause_container/Linux/MaskedPaths', 'string[]?'],
  ['/pause_container/Linux/ReadonlyPaths', 'string[]?'],
  ['/other_container/Root/Path', 'string'],
  ['/other_container/Root/Readonly', 'boolean?'],
  ['/other_container/Mounts', 'mounts'],
  ['/other_container/Annotations', 'object'],
  ['/other_container/Linux/MaskedPaths', 'string[]?'],
  ['/other_container/Linux/ReadonlyPaths', 'string[]?'],
  ['/volumes/emptyDir/mount_type', 'string'],
  ['/volumes/emptyDir/mount_source', 'string'],
  ['/volumes/emptyDir/mount_point', 'string'],
  ['/volumes/emptyDir/driver', 'string'],
  ['/volumes/emptyDir/fstype', 'string'],
  ['/volumes/emptyDir/options', 'string[]'],
  ['/volumes/emptyDir_memory/mount_type', 'string'],
  ['/volumes/emptyDir_memory/mount_source', 'string'],
  ['/volumes/emptyDir_memory/mount_point', 'string'],
  ['/volumes/emptyDir_memory/driver', 'string'],
  ['/volumes/emptyDir_memory/fstype', 'string'],
  ['/volumes/emptyDir_memory/options', 'string[]'],
  ['/mount_destinations', 'string[]'],
  ['/sandbox/storages', 'object'],
  ['/common/cpath', 'string'],
  ['/common/sfprefix', 'string'],
  ['/common/default_caps', 'string[]'],
  ['/common/privileged_caps', 'string[]'],
  ['/kata_config/oci_version', 'string'],
  ['/kata_config/enable_configmap_secret_storages', 'boolean'],
  ['/cluster_config/pause_container_image', 'string'],
  ['/cluster_config/guest_pull', 'boolean'],
  ['/cluster_config/pause_container_id_policy', 'string?'],
  ['/request_defaults/CreateContainerRequest/allow_env_regex', 'string[]'],
  ['/request_defaults/CopyFileRequest', 'string[]'],
  ['/request_defaults/ExecProcessRequest/allowed_commands', 'string[][]'],
  ['/request_defaults/ExecProcessRequest/regex', 'string[]'],
];

/** Throws a ContrastError naming the JSON pointer of the first invalid value. */
export function validateSettings(settings: unknown, source: string): void {
  const fail = (pointer: string, problem: string): never => {
    throw new ContrastError(`${source}: invalid settings at ${pointer}: ${problem}`, {
      code: 'SETTINGS_INVALID',
    });
  };
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    fail('', 'must be a JSON object');
  for (const [pointer, check] of REQUIRED) {
    let v: unknown;
    try {
      v = fastJsonPatch.getValueByPointer(settings, pointer);
    } catch {
      v = undefined;
    }
    if (v === undefined) {
      if (check.endsWith('?')) continue;
      fail(pointer, 'missing');
    }
    const isStrArr = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
    switch (check) {
      case 'string':
      case 'boolean':
      case 'string?':
      case 'boolean?': {
        const type = check.replace('?', '');
        if (typeof v !== type) fail(pointer, `must be a ${type}, got ${JSON.stringify(v)}`);
        break;
      }
      case 'string[]':
      case 'string[]?':
        if (!Array.isArray(v)) fail(pointer, 'must be an array of strings');
        (v as unknown[]).forEach(
          (s, i) => typeof s !== 'string' && fail(`${pointer}/${i}`, 'must be a string'),
        );
        break;
      case 'string[][]':
        if (!Array.isArray(v)) fail(pointer, 'must be an array of argv arrays');
        (v as unknown[]).forEach(
          (s, i) => !isStrArr(s) && fail(`${pointer}/${i}`, 'must be an array of strings (an argv)'),
        );
        break;
      case 'object':
        if (typeof v !== 'object' || v === null) fail(pointer, 'must be an object or array');
        break;
      case 'mounts':
        if (!Array.isArray(v)) fail(pointer, 'must be an array of mounts');
        (v as unknown[]).forEach((m, i) => {
          const mm = m as Record<string, unknown>;
          for (const k of ['destination', 'type_']) {
            if (typeof mm?.[k] !== 'string') fail(`${pointer}/${i}/${k}`, 'must be a string');
          }
          // genpolicy's settings leave a bind mount's source out: it is derived from the destination.
          if (mm?.['source'] !== undefined && typeof mm['source'] !== 'string')
            fail(`${pointer}/${i}/source`, 'must be a string');
          if (!isStrArr(mm['options'])) fail(`${pointer}/${i}/options`, 'must be an array of strings');
        });
        break;
    }
  }
  const s = settings as PolicySettings;
  for (const [i, r] of s.request_defaults.CreateContainerRequest.allow_env_regex.entries())
    checkRegex(r, `/request_defaults/CreateContainerRequest/allow_env_regex/${i}`, fail);
  for (const [i, r] of s.request_defaults.ExecProcessRequest.regex.entries())
    checkRegex(r, `/request_defaults/ExecProcessRequest/regex/${i}`, fail);
  const legacy = s.request_defaults.ExecProcessRequest.commands;
  if (Array.isArray(legacy) && legacy.length > 0) {
    fail(
      '/request_defaults/ExecProcessRequest/commands',
      'the legacy "commands" list is not supported; use allowed_commands (argv arrays)',
    );
  }
  const idPolicy = s.cluster_config.pause_container_id_policy as string | undefined;
  if (idPolicy !== undefined && !['v1', 'v2'].includes(idPolicy)) {
    fail('/cluster_config/pause_container_id_policy', 'must be "v1" or "v2"');
  }
}

function checkRegex(r: string, pointer: string, fail: (p: string, m: string) => never): void {
  // Placeholders are substituted by the rules; check what remains is a well-formed pattern.
  const probe = r.replace(/\$\([a-z0-9_-]+\)/g, 'x');
  try {
    new RegExp(probe, 'u');
  } catch (e) {
    fail(pointer, `not a valid regular expression: ${(e as Error).message}`);
  }
}
