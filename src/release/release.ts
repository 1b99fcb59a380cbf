// A Contrast release, read from the files Contrast publishes for it. The Go CLI has its release built in
// (runtime handlers, image pins, reference values, SNP ID blocks); we are not built with one, so the
// user points us at a directory holding that release's files, and everything `generate` writes that
// belongs to a release comes from there — never from our own defaults.
//
// Directory layout (file names as published on https://github.com/edgelesssys/contrast/releases and
// as embedded in the Go CLI; see README "Selecting a Contrast release"):
//   runtime-<platform>.yml   release asset, one per platform: RuntimeClass (name = runtime handler
//                            contrast-cc-<platform>-<hash>) and the node installer pinned by version+digest
//   coordinator.yml          release asset: the Coordinator StatefulSet, image pinned by version+digest
//   image-replacements.txt   the CLI's embedded pins (cli/cmd/assets/image-replacements.txt, written by
//                            the release workflow): `ghcr.io/edgelesssys/contrast/<name>:latest=<pinned>`
//   reference-values.json    the CLI's embedded reference values (internal/manifest/assets/
//                            reference-values.json): runtime handler → {snp, tdx}
//   snp-id-blocks.json       2025 line only: the CLI's embedded SNP ID blocks (platform → product line
//                            → vCPU count → {idBlock, idAuth})
//   ap-eip.hex               2026 line only: the CLI's embedded cli/cmd/assets/ap-eip.hex, the SEV-ES AP
//                            reset EIP of the release's OVMF as 8 hex digits (4 bytes, big-endian; the
//                            release build writes it with `sev-snp-measure ap-eip --ovmf <OVMF.fd>`);
//                            `generate` puts it into every SNP reference value as APEIP
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { parseImageReplacements, type ImageReplacements } from '../contrast/replacements.js';
import { PLATFORMS, parseRuntimeClass, type PlatformInfo } from '../contrast/platforms.js';
import { importReferenceValues, type ImportedReferenceValues } from '../contrast/referencevalues.js';
import { RELEASE_LINES, type ReleaseLine } from './lines.js';

/** platform slug → product line (Milan, Genoa) → vCPU count → ID block (2025 line CLI asset). */
export type SnpIdBlockTable = Record<
  string,
  Record<string, Record<string, { idBlock: string; idAuth?: string }>>
>;

export interface Release {
  /** Directory the pins were read from (absolute). */
  source: string;
  /** Release version, e.g. v1.9.0: the tag of the release's pinned Contrast images. */
  version: string;
  line: ReleaseLine;
  /** Runtime handler per platform name, from runtime-<platform>.yml. */
  handlers: Map<string, string>;
  /** Image pins: image-replacements.txt plus the Coordinator and node-installer pins of the assets. */
  imageReplacements: ImageReplacements;
  referenceValues?: ImportedReferenceValues;
  snpIdBlocks?: SnpIdBlockTable;
  /** 2026 line: the AP reset EIP from ap-eip.hex, lowercase hex of 4 bytes (Go: manifest.NewHexString). */
  apEip?: string;
  /** Files read, for `contrast --version` and error messages. */
  files: string[];
}

const CONTRAST_IMAGE = /^(ghcr\.io\/edgelesssys\/contrast\/[a-z0-9-]+):([^@\s]+)@(sha256:[0-9a-f]{64})$/;
const FILES_HINT =
  'a release directory holds runtime-<platform>.yml and coordinator.yml (release assets on ' +
  'https://github.com/edgelesssys/contrast/releases/<version>), image-replacements.txt and ' +
  'reference-values.json (the Go CLI of that release embeds them; `contrast --version` of it lists the images)';

function fail(message: string, hint = FILES_HINT): never {
  throw new ContrastError(message, { code: 'BAD_RELEASE', hint });
}

interface Pin {
  image: string;
  tag: string;
  file: string;
}

/** The documents of a release YAML file as plain data (each file is parsed once). */
function releaseYaml(text: string, file: string): unknown[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length) fail(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
    return doc.toJS() as unknown;
  });
}

/** Every pinned Contrast image in a YAML file (containers and init containers, any kind). */
function contrastPins(docs: unknown[], file: string): Pin[] {
  const out: Pin[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') {
          const m = CONTRAST_IMAGE.exec(x);
          if (m) out.push({ image: x, tag: m[2]!, file });
        } else walk(x);
      }
    }
  };
  docs.forEach(walk);
  return out;
}

/** RuntimeClass names in a runtime-<platform>.yml. */
function runtimeClasses(docs: unknown[]): string[] {
  const out: string[] = [];
  for (const doc of docs) {
    const v = doc as { kind?: string; metadata?: { name?: string } } | null;
    if (v?.kind === 'RuntimeClass' && typeof v.metadata?.name === 'string') out.push(v.metadata.name);
  }
  return out;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    fail(`reading release file ${path}: ${errorMessage(err)}`);
  }
}

function detectLine(
  dir: string,
  manifestText: string | undefined,
  rv: ImportedReferenceValues | undefined,
  haveIdBlocks: boolean,
  haveApEip: boolean,
): ReleaseLine {
  if (manifestText !== undefined) {
    let m: unknown;
    try {
      m = JSON.parse(manifestText);
    } catch (err) {
      fail(`${join(dir, 'manifest.json')}: not valid JSON: ${errorMessage(err)}`);
    }
    for (const line of RELEASE_LINES)
      if (m && typeof m === 'object' && line.ownerKeyField in m) return line.name;
  }
  // Only the 2026 CLI embeds the AP reset EIP.
  if (haveApEip) return '2026';
  // Only APEIP is new in the 2026 SNP values. Their other fields, PlatformInfo names included, are the
  // same in both lines, and a release's own file carries no APEIP (package.nix), so values alone never
  // tell a 2025 release from a 2026 one without its ap-eip.hex.
  if (rv?.line === '2026') return '2026';
  // Only the 2025 CLI embeds an SNP ID-block table.
  if (haveIdBlocks) return '2025';
  fail(
    `${dir}: cannot tell which Contrast release line this is`,
    "add the release's ap-eip.hex (2026 line), its snp-id-blocks.json (2025 line), reference values with APEIP (2026 line) or a " +
      "manifest.json written by that release's `contrast generate` (WorkloadOwnerPubKeys = 2026 line, " +
      'WorkloadOwnerKeyDigests = 2025 line)',
  );
}

/** Reads a release directory (or the directory of a file inside it). */
export async function loadRelease(path: string): Promise<Release> {
  let dir = resolve(path);
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    fail(`--contrast-release ${path}: ${errorMessage(err)}`);
  }
  if (!st.isDirectory()) dir = dirname(dir);
  const names = (await readdir(dir)).sort();
  const files: string[] = [];
  const handlers = new Map<string, string>();
  const pins: Pin[] = [];
  // The runtime files are read at once and checked in name order (errors as if read one by one).
  const runtimeFiles = names.flatMap((name) => {
    const m = /^runtime-([a-z0-9-]+)\.ya?ml$/.exec(name);
    if (!m) return [];
    const file = join(dir, name);
    const text = readText(file);
    text.catch(() => undefined); // awaited below, in order
    return [{ file, slug: m[1]!, text }];
  });
  for (const { file, slug, text: reading } of runtimeFiles) {
    const docs = releaseYaml(await reading, file);
    files.push(file);
    const classes = runtimeClasses(docs);
    if (classes.length !== 1) fail(`${file}: expected exactly one RuntimeClass, found ${classes.length}`);
    const rc = parseRuntimeClass(classes[0]!);
    if (!rc?.hash || rc.platform.slug !== slug)
      fail(`${file}: RuntimeClass "${classes[0]}" is not contrast-cc-${slug}-<hash>`);
    handlers.set(rc.platform.name, classes[0]!);
    pins.push(...contrastPins(docs, file));
  }
  if (handlers.size === 0) fail(`${dir}: no runtime-<platform>.yml in this release directory`);
  const coordinatorFile = join(dir, 'coordinator.yml');
  if (existsSync(coordinatorFile)) {
    pins.push(
      ...contrastPins(releaseYaml(await readText(coordinatorFile), coordinatorFile), coordinatorFile),
    );
    files.push(coordinatorFile);
  }
  const replacementsFile = join(dir, 'image-replacements.txt');
  const imageReplacements: ImageReplacements = new Map();
  if (existsSync(replacementsFile)) {
    for (const [k, v] of parseImageReplacements(await readText(replacementsFile), replacementsFile)) {
      imageReplacements.set(k, v);
      const m = CONTRAST_IMAGE.exec(v);
      if (m) pins.push({ image: v, tag: m[2]!, file: replacementsFile });
    }
    files.push(replacementsFile);
  }
  // The assets pin the same images the CLI embeds: add them as `<name>:latest` replacements too.
  for (const p of pins) {
    const name = CONTRAST_IMAGE.exec(p.image)![1]!;
    if (!imageReplacements.has(`${name}:latest`)) imageReplacements.set(`${name}:latest`, p.image);
  }
  // Contrast tags its images with the release version (release.yml tagContrast); node installer,
  // Coordinator, Initializer and mesh must agree, else the directory mixes releases.
  const versioned = pins.filter((p) =>
    /\/(coordinator|initializer|service-mesh-proxy|node-installer-kata|node-installer-kata-gpu|node-installer-microsoft)$/.test(
      CONTRAST_IMAGE.exec(p.image)![1]!,
    ),
  );
  const versions = [...new Set(versioned.map((p) => p.tag))];
  if (versions.length === 0)
    fail(
      `${dir}: no pinned Contrast image (…/coordinator:<version>@sha256:…) found to tell the release version`,
    );
  if (versions.length > 1) {
    fail(
      `${dir}: files of different releases: ${versioned.map((p) => `${basename(p.file)} has ${p.tag}`).join(', ')}`,
      'put the files of one release into the directory',
    );
  }
  const rvFile = join(dir, 'reference-values.json');
  let referenceValues: ImportedReferenceValues | undefined;
  if (existsSync(rvFile)) {
    referenceValues = await importReferenceValues(rvFile);
    files.push(rvFile);
    for (const [platform, handler] of referenceValues.handlers) {
      const own = handlers.get(platform);
      if (own && own !== handler)
        fail(`${rvFile}: has values for runtime handler ${handler}, but the release's runtime is ${own}`);
    }
  }
  const idBlocksFile = join(dir, 'snp-id-blocks.json');
  let snpIdBlocks: SnpIdBlockTable | undefined;
  if (existsSync(idBlocksFile)) {
    try {
      snpIdBlocks = JSON.parse(await readText(idBlocksFile)) as SnpIdBlockTable;
    } catch (err) {
      fail(`${idBlocksFile}: ${errorMessage(err)}`);
    }
    files.push(idBlocksFile);
  }
  const apEipFile = join(dir, 'ap-eip.hex');
  let apEip: string | undefined;
  if (existsSync(apEipFile)) {
    // Go parsedAPEIP: hex.DecodeString(strings.TrimSpace(text)), exactly 4 bytes.
    const text = (await readText(apEipFile)).trim();
    if (!/^[0-9a-fA-F]{8}$/.test(text))
      fail(
        `${apEipFile}: expected the SEV-ES AP reset EIP as 8 hex digits (4 bytes, big-endian), got ${JSON.stringify(text.slice(0, 40))}`,
        'copy cli/cmd/assets/ap-eip.hex of the release build (the repository holds only a placeholder)',
      );
    apEip = text.toLowerCase();
    files.push(apEipFile);
  }
  const manifestFile = join(dir, 'manifest.json');
  const manifestText = existsSync(manifestFile) ? await readText(manifestFile) : undefined;
  if (manifestText !== undefined) files.push(manifestFile);
  const line = detectLine(dir, manifestText, referenceValues, snpIdBlocks !== undefined, apEip !== undefined);
  return {
    source: dir,
    version: versions[0]!,
    line,
    handlers,
    imageReplacements,
    ...(referenceValues ? { referenceValues } : {}),
    ...(snpIdBlocks ? { snpIdBlocks } : {}),
    ...(apEip ? { apEip } : {}),
    files,
  };
}

/** The release's runtime handler for `platform`, or a clear error naming what the release ships. */
export function releaseHandler(release: Release, platform: PlatformInfo): string {
  const h = release.handlers.get(platform.name);
  if (h) return h;
  const shipped = [...release.handlers.keys()].join(', ');
  const historical = platform.historical
    ? ` ${platform.name} is not a platform of current Contrast releases (use \`contrast policy generate --flavour host-pull\` for its policies)`
    : '';
  throw new ContrastError(
    `Contrast ${release.version} (${release.source}) has no runtime for ${platform.name}; it ships ${shipped}.${historical}`,
    {
      code: 'NO_PLATFORM',
      hint: `add runtime-${platform.slug}.yml of this release, or pick one of its platforms`,
    },
  );
}

export function platformsOf(release: Release): PlatformInfo[] {
  return PLATFORMS.filter((p) => release.handlers.has(p.name));
}
