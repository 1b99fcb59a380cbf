// Finds the Rego text of a Kata agent policy in whatever the user has at hand: the .rego file itself,
// a Kubernetes YAML whose pod template carries the policy annotation (legacy base64 or initdata), or
// an initdata document (TOML, or its base64/gzip annotation encoding). Every failure names the file
// and what was wrong with it, because "policy not found" alone tells a user nothing.
import { parseAllDocuments } from 'yaml';
import { ContrastError } from '../internal/errors.js';
import { readBytesInputSync, readOptionInput } from '../internal/files.js';
import { documentToJS } from '../kube/yaml.js';
import {
  gunzipText,
  INITDATA_ANNOTATION,
  INITDATA_POLICY_KEY,
  initdataDigest,
  isGzip,
  parseInitdataDocument,
  POLICY_ANNOTATION,
  sha256Hex,
} from '../policy/initdata.js';

export { INITDATA_ANNOTATION, INITDATA_POLICY_KEY, POLICY_ANNOTATION };

export interface PolicySource {
  /** The Rego module text. */
  text: string;
  /** Name under which the module is added to the engine; appears in explain output (file:line). */
  name: string;
  /** Human-readable origin, e.g. `pod.yaml: Deployment/web (initdata)`. */
  origin: string;
  /** What attestation measures, hex: sha256 of the initdata TOML, else of the policy text. */
  hash?: string;
  /** The initdata `[data]` entries other than the policy (e.g. Contrast's debug flag). */
  initdataEntries?: Record<string, unknown>;
}

export interface ExtractOptions {
  /** Selects one workload of a multi-workload YAML: `kind/name` or `name`. */
  workload?: string;
}

interface Workload {
  kind: string;
  name: string;
  annotations: Record<string, unknown>;
}

/** Reads `file` and returns the policy it holds; see `extractPolicy`. */
export function loadPolicy(file: string, options: ExtractOptions = {}): PolicySource {
  const bytes = readOptionInput('--policy', file, () => readBytesInputSync(file, 'policy'));
  return extractPolicy(file, bytes, options);
}

/** Recognises the input by content (not only by extension) so that renamed files still work. */
export function extractPolicy(file: string, bytes: Uint8Array, options: ExtractOptions = {}): PolicySource {
  if (isGzip(bytes)) return fromInitdataToml(file, gunzip(file, bytes), `${file} (gzip initdata)`, file);
  const text = Buffer.from(bytes).toString('utf8');
  const trimmed = stripComments(text);

  if (file.endsWith('.rego') || (/^package\s/m.test(trimmed.slice(0, 4096)) && !looksLikeToml(trimmed))) {
    if (!/^\s*package\s/m.test(trimmed)) {
      throw new ContrastError(`--policy ${file}: not a Rego module (no "package" declaration)`);
    }
    return { text, name: file, origin: file, hash: sha256Hex(text) };
  }
  if (looksLikeToml(trimmed)) return fromInitdataToml(file, text, `${file} (initdata)`, file);
  if (isBase64Blob(trimmed)) return fromBase64(file, trimmed, file);
  if (/^(apiVersion|kind)\s*:/m.test(trimmed) || file.endsWith('.yaml') || file.endsWith('.yml')) {
    return fromKubernetesYaml(file, text, options);
  }
  throw new ContrastError(
    `--policy ${file}: not recognised as a Rego module, Kubernetes YAML, or initdata (TOML or base64)`,
    {
      hint: 'give the .rego file, the YAML with the io.katacontainers.config.agent.policy or cc_init_data annotation, or the initdata document',
    },
  );
}

function stripComments(text: string): string {
  return text.replace(/^\uFEFF/, '').trimStart();
}

function looksLikeToml(text: string): boolean {
  return /^\s*\[data\]\s*$/m.test(text) && /^\s*(version|algorithm)\s*=/m.test(text);
}

function isBase64Blob(text: string): boolean {
  const t = text.trim();
  return t.length > 0 && /^[A-Za-z0-9+/=\s_-]+$/.test(t) && !/\s\S+\s*:/.test(t);
}

/** The codec's errors, prefixed with where the input came from. */
function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContrastError) throw new ContrastError(`${where}: ${err.message}`, { code: err.code });
    throw err;
  }
}

function gunzip(where: string, bytes: Uint8Array): string {
  return at(where, () => gunzipText(bytes));
}

function decodeBase64(where: string, value: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) || compact.length === 0) {
    throw new ContrastError(`${where}: value is not base64`);
  }
  return Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
}

/** A base64 value is either the policy text itself (legacy annotation) or gzip'd initdata TOML. */
function fromBase64(where: string, value: string, name: string): PolicySource {
  const raw = decodeBase64(where, value);
  if (isGzip(raw)) return fromInitdataToml(where, gunzip(where, raw), `${where} (initdata)`, name);
  const text = raw.toString('utf8');
  if (looksLikeToml(text)) return fromInitdataToml(where, text, `${where} (initdata)`, name);
  if (/^\s*package\s/m.test(text))
    return { text, name, origin: `${where} (agent policy annotation)`, hash: sha256Hex(text) };
  throw new ContrastError(`${where}: base64 value decodes to neither a Rego module nor initdata`);
}

function fromInitdataToml(where: string, tomlText: string, origin: string, name: string): PolicySource {
  const doc = at(where, () => parseInitdataDocument(tomlText));
  const data = doc['data'];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ContrastError(`${where}: initdata has no [data] table`);
  }
  const policy = (data as Record<string, unknown>)[INITDATA_POLICY_KEY];
  if (typeof policy !== 'string') {
    const keys = Object.keys(data);
    throw new ContrastError(
      `${where}: initdata [data] has no "${INITDATA_POLICY_KEY}" entry` +
        (keys.length ? ` (it has: ${keys.join(', ')})` : ' (it is empty)'),
    );
  }
  const initdataEntries: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (k !== INITDATA_POLICY_KEY) initdataEntries[k] = v;
  return {
    text: policy,
    name,
    origin,
    hash: at(where, () => initdataDigest(tomlText, doc['algorithm'])),
    initdataEntries,
  };
}

function fromKubernetesYaml(file: string, text: string, options: ExtractOptions): PolicySource {
  const docs = parseAllDocuments(text);
  const all: Workload[] = [];
  const docList = Array.isArray(docs) ? docs : [];
  for (const [i, doc] of docList.entries()) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0]?.line;
      throw new ContrastError(
        `${file}${line ? `:${line}` : ''}: invalid YAML (document ${i + 1}): ${e.message.split('\n')[0]}`,
      );
    }
    collectWorkloads(documentToJS(doc, file), all);
  }
  const withPolicy = all.filter(
    (w) => POLICY_ANNOTATION in w.annotations || INITDATA_ANNOTATION in w.annotations,
  );
  const label = (w: Workload) => `${w.kind}/${w.name}`;

  let chosen: Workload | undefined;
  if (options.workload !== undefined) {
    const want = options.workload.toLowerCase();
    const matches = all.filter((w) => label(w).toLowerCase() === want || w.name.toLowerCase() === want);
    if (matches.length === 0) {
      throw new ContrastError(`${file}: no workload "${options.workload}"`, {
        hint: all.length
          ? `workloads in the file: ${all.map(label).join(', ')}`
          : 'the file has no workloads',
      });
    }
    if (matches.length > 1) {
      throw new ContrastError(`${file}: "${options.workload}" matches ${matches.map(label).join(', ')}`, {
        hint: 'select one with --workload kind/name',
      });
    }
    chosen = matches[0]!;
    if (!withPolicy.includes(chosen)) {
      throw new ContrastError(
        `${file}: ${label(chosen)} has no ${POLICY_ANNOTATION} or ${INITDATA_ANNOTATION} annotation`,
        {
          hint: 'run `contrast generate` on the file first',
        },
      );
    }
  } else if (withPolicy.length === 0) {
    throw new ContrastError(
      `${file}: no workload carries a ${POLICY_ANNOTATION} or ${INITDATA_ANNOTATION} annotation` +
        (all.length ? ` (workloads: ${all.map(label).join(', ')})` : ' (no workloads found)'),
      { hint: 'run `contrast generate` on the file first' },
    );
  } else if (withPolicy.length > 1) {
    throw new ContrastError(
      `${file}: ${withPolicy.length} workloads carry a policy: ${withPolicy.map(label).join(', ')}`,
      {
        hint: 'select one with --workload kind/name',
      },
    );
  } else {
    chosen = withPolicy[0]!;
  }

  const found = policyFromAnnotations(
    `${file}: ${label(chosen)}`,
    chosen.annotations,
    `${file}#${label(chosen)}`,
  );
  if (!found) throw new ContrastError(`${file}: ${label(chosen)} has no policy annotation`);
  return found;
}

/**
 * The policy carried by a pod template's annotations, or undefined when it has none. `where` names
 * the workload in errors, `name` is the module name for the engine.
 */
export function policyFromAnnotations(
  where: string,
  annotations: Record<string, unknown>,
  name: string,
): PolicySource | undefined {
  // With both annotations present the agent of the initdata era reads the policy from initdata; the
  // legacy annotation is what an older runtime sends with SetPolicy. We follow the newer agent.
  const initdata = annotations[INITDATA_ANNOTATION];
  if (initdata !== undefined) {
    if (typeof initdata !== 'string')
      throw new ContrastError(`${where}: annotation ${INITDATA_ANNOTATION} is not a string`);
    return fromBase64(`${where} annotation ${INITDATA_ANNOTATION}`, initdata, name);
  }
  const legacy = annotations[POLICY_ANNOTATION];
  if (legacy === undefined) return undefined;
  if (typeof legacy !== 'string')
    throw new ContrastError(`${where}: annotation ${POLICY_ANNOTATION} is not a string`);
  const policyText = decodeBase64(`${where} annotation ${POLICY_ANNOTATION}`, legacy).toString('utf8');
  if (!/^\s*package\s/m.test(policyText)) {
    throw new ContrastError(`${where}: annotation ${POLICY_ANNOTATION} does not decode to a Rego module`);
  }
  return { text: policyText, name, origin: `${where} (${POLICY_ANNOTATION})`, hash: sha256Hex(policyText) };
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Pod template metadata per kind, as genpolicy places the annotation (policy-generation.md §1.1). */
function podTemplate(kind: string, obj: Record<string, unknown>): Record<string, unknown> | undefined {
  const spec = asRecord(obj['spec']);
  switch (kind) {
    case 'Pod':
      return obj;
    case 'CronJob':
      return asRecord(asRecord(asRecord(spec?.['jobTemplate'])?.['spec'])?.['template']);
    default:
      return asRecord(spec?.['template']);
  }
}

function collectWorkloads(node: unknown, out: Workload[]): void {
  const obj = asRecord(node);
  if (!obj) return;
  const kind = typeof obj['kind'] === 'string' ? obj['kind'] : '';
  if (kind === 'List' || kind.endsWith('List')) {
    if (Array.isArray(obj['items'])) for (const item of obj['items']) collectWorkloads(item, out);
    return;
  }
  const template = podTemplate(kind, obj);
  if (!template || (kind !== 'Pod' && !asRecord(template['spec']))) return;
  const name = String(asRecord(obj['metadata'])?.['name'] ?? '(unnamed)');
  const annotations = asRecord(asRecord(template['metadata'])?.['annotations']) ?? {};
  out.push({ kind, name, annotations });
}
