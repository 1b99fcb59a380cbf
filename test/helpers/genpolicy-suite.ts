// Kata genpolicy's own policy test suite (src/tools/genpolicy/tests/policy/testdata, read from
// ../shared/kata-genpolicy at test time, never copied), replayed against policies OUR tool
// generates. For each case directory: equivalent images (the config and passwd/group the cases
// imply, below) are pushed to the lab registry, the pinned digests in pod.yaml and testcases.json
// are rewritten to the pushed ones, `policy generate` runs (guest pull, genpolicy's settings file
// via -s, optionally genpolicy's rules via -p) with a registries.conf that sends the public
// registries to the lab, and the cases are judged in order on one AgentSession, each request
// first read as the agent reads it (protobuf defaults, src/policyeval/proto.ts), like genpolicy's
// harness (tests/policy/main.rs) does.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushTestImage } from '../fixtures/oci/push.js';
import { entry, tar } from '../fixtures/oci/tar.js';
import { AgentSession, agentInput, explainVerdict, formatExplanation } from '../../src/policyeval/index.js';
import { annotateWorkloads } from '../../src/workflows/annotate.js';

export const SUITE_SUBDIR = join('kata-genpolicy', 'tests', 'policy', 'testdata');

export interface SuiteCase {
  description: string;
  allowed: boolean;
  kind: string;
  request: unknown;
}

/** Case directories (relative, `/`-separated), in a stable order. */
export function suiteDirs(root: string, rel = ''): string[] {
  const dir = join(root, rel);
  const out: string[] = [];
  if (existsSync(join(dir, 'testcases.json')) && existsSync(join(dir, 'pod.yaml'))) out.push(rel);
  for (const name of readdirSync(dir).sort()) {
    if (statSync(join(dir, name)).isDirectory()) out.push(...suiteDirs(root, rel ? `${rel}/${name}` : name));
  }
  return out;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The images the suite's pods and genpolicy's settings name, as the cases reveal them: the
 * entrypoint, env, working directory, volumes and user/group files the expected requests imply.
 */
interface SuiteImage {
  config: Record<string, unknown>;
  passwd?: string;
  group?: string;
}

const PAUSE: SuiteImage = {
  // registry.k8s.io/pause:3.6: Args ["/pause"], user 65535 (cases createcontainer/gpu_vfio_cdi,
  // security_context/fsgroup), no /etc/passwd.
  config: { Entrypoint: ['/pause'], Env: [PATH_ENV], User: '65535:65535' },
};
const REDIS: SuiteImage = {
  // opstree/redis: Args ["/usr/bin/entrypoint.sh"], Cwd /data, REDIS_PORT, VOLUMEs /data and
  // /node-conf (cases volumes/container_image, security_context/runas, supplemental_groups).
  config: {
    Entrypoint: ['/usr/bin/entrypoint.sh'],
    Env: [PATH_ENV, 'REDIS_PORT=6379'],
    WorkingDir: '/data',
    User: 'redis',
    Volumes: { '/data': {}, '/node-conf': {} },
  },
  passwd:
    'root:x:0:0:root:/root:/bin/sh\nredis:x:1000:1000::/home/redis:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n',
  group: 'root:x:0:\nredis:x:1000:\nnogroup:x:65534:\n',
};

/** Keyed by the repository (registry/path, no tag or digest) as the pods and settings write it. */
const SUITE_IMAGES: Record<string, SuiteImage> = {
  'registry.k8s.io/pause': PAUSE,
  'mcr.microsoft.com/oss/kubernetes/pause': PAUSE,
  // burgerdev/weird-images gid: Args ["/entrypoint.sh"]; with runAsUser 2 / runAsGroup 1 the only
  // group is 1, although uid 2's passwd entry has group 0 (case createcontainer/gid).
  'ghcr.io/burgerdev/weird-images/gid': {
    config: { Entrypoint: ['/entrypoint.sh'], Env: [PATH_ENV] },
    passwd: 'root:x:0:0:root:/root:/bin/sh\nweird:x:2:0::/:/bin/sh\n',
    group: 'root:x:0:\nbin:x:1:\n',
  },
  'quay.io/kata-containers/test-images/opstree/redis': REDIS,
  'quay.io/opstree/redis': REDIS,
  // busybox as root with group 10 from /etc/group (case state/execprocess: AdditionalGids [0, 10]).
  'quay.io/prometheus/busybox': {
    config: { Cmd: ['sh'], Env: [PATH_ENV] },
    passwd: 'root:x:0:0:root:/root:/bin/sh\n',
    group: 'root:x:0:\nwheel:x:10:root\n',
  },
};

const REGISTRIES = ['registry.k8s.io', 'mcr.microsoft.com', 'ghcr.io', 'quay.io'];

function splitRef(ref: string): { repo: string; tag: string; digest?: string } {
  const [nameTag = '', digest] = ref.split('@');
  const slash = nameTag.lastIndexOf('/');
  const colon = nameTag.lastIndexOf(':');
  const hasTag = colon > slash;
  return {
    repo: hasTag ? nameTag.slice(0, colon) : nameTag,
    tag: hasTag ? nameTag.slice(colon + 1) : 'latest',
    ...(digest ? { digest } : {}),
  };
}

/** Image references in a pod YAML (and the settings' pause image). */
function imageRefs(text: string): string[] {
  return [...text.matchAll(/^\s*image:\s*"?([^"\s]+)"?\s*$/gm)].map((m) => m[1]!);
}

/** Pushes every image once per run; returns ref-as-written → pushed manifest digest. */
export class SuiteRegistry {
  private readonly pushed = new Map<string, string>();
  constructor(private readonly labHost: string) {}

  push(ref: string): string {
    const { repo, tag } = splitRef(ref);
    const key = `${repo}:${tag}`;
    const known = this.pushed.get(key);
    if (known) return known;
    const spec = SUITE_IMAGES[repo];
    if (!spec) throw new Error(`genpolicy suite: no equivalent image defined for ${repo}`);
    const files: Buffer[] = [];
    if (spec.passwd !== undefined) {
      files.push(entry({ name: 'etc/', type: '5', mode: 0o755 }));
      files.push(entry({ name: 'etc/passwd', mode: 0o644, size: spec.passwd.length }, spec.passwd));
      files.push(entry({ name: 'etc/group', mode: 0o644, size: spec.group!.length }, spec.group!));
    } else {
      files.push(entry({ name: 'pause', mode: 0o755, size: 1 }, 'x'));
    }
    const { manifestDigest } = pushTestImage(
      `${this.labHost}/${repo}:${tag}`,
      [{ tar: tar(...files), compression: 'gzip' }],
      { ...spec.config },
    );
    this.pushed.set(key, manifestDigest);
    return manifestDigest;
  }

  /** registries.conf sending the public registries of the suite to the lab. */
  registriesConf(): string {
    return REGISTRIES.map(
      (r) => `[[registry]]\nprefix = "${r}"\nlocation = "${this.labHost}/${r}"\ninsecure = true\n`,
    ).join('\n');
  }
}

export interface CaseResult {
  dir: string;
  index: number;
  description: string;
  kind: string;
  expected: boolean;
  got: boolean;
  /**
   * The verdict when the agent had recorded the pod's sandbox before the directory's first request
   * (what the runtime always does: the pause container is created first). Only for directories
   * whose first CreateContainerRequest is an app container; else equal to `got`.
   */
  gotWithSandbox: boolean;
  error?: string;
  /** `contrast policy eval --explain` text for a refusal the suite expected to be allowed (debugging). */
  explain?: string[];
}

export interface SuiteRunOptions {
  suiteRoot: string;
  settingsPath: string;
  rulesPath?: string;
  registry: SuiteRegistry;
}

/**
 * Runs one case directory: pushes its images, rewrites digests, generates the policy with our
 * pipeline and judges the cases in order on one agent.
 */
export async function runSuiteDir(dir: string, o: SuiteRunOptions): Promise<CaseResult[]> {
  const src = join(o.suiteRoot, dir);
  let podText = readFileSync(join(src, 'pod.yaml'), 'utf8');
  let casesText = readFileSync(join(src, 'testcases.json'), 'utf8');
  const settings = JSON.parse(readFileSync(o.settingsPath, 'utf8')) as {
    cluster_config: { pause_container_image: string };
  };
  o.registry.push(settings.cluster_config.pause_container_image);
  // Digest rewrite: the pushed equivalent image replaces the public one in the pod and requests.
  for (const ref of imageRefs(podText)) {
    const digest = o.registry.push(ref);
    const old = splitRef(ref).digest;
    if (old) {
      podText = podText.replaceAll(old, digest);
      casesText = casesText.replaceAll(old, digest);
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'genpolicy-suite-'));
  try {
    const pod = join(work, 'pod.yaml');
    writeFileSync(pod, podText);
    const conf = join(work, 'registries.conf');
    writeFileSync(conf, o.registry.registriesConf());
    const configFiles = existsSync(join(src, 'config_map.yaml')) ? [join(src, 'config_map.yaml')] : [];
    let generated: Awaited<ReturnType<typeof annotateWorkloads>>;
    try {
      generated = await annotateWorkloads({
        paths: [pod],
        configFilePaths: configFiles,
        runtimeClassPrefix: 'kata',
        flavour: 'guest-pull',
        settingsPath: o.settingsPath,
        ...(o.rulesPath !== undefined ? { rulesPath: o.rulesPath } : {}),
        client: { registriesConf: conf, env: {} },
        cachePath: null,
        progress: 'off',
      });
    } catch (err) {
      // Generation refused the pod: no policy, so the agent would refuse every request.
      const cases = JSON.parse(casesText) as SuiteCase[];
      const error = `generation refused: ${err instanceof Error ? err.message : String(err)}`;
      return cases.map((c, index) => ({
        dir,
        index,
        description: c.description,
        kind: c.kind,
        expected: c.allowed,
        got: false,
        gotWithSandbox: false,
        error,
      }));
    }
    const { policies } = generated;
    if (policies.length !== 1) throw new Error(`${dir}: expected one workload, got ${policies.length}`);
    const policy = policies[0]!;
    // Images the YAML had without a digest: our generator pinned them (in the YAML it writes), so
    // containerd names them repo@sha256:D — the requests say what it would send for that YAML.
    for (const ref of imageRefs(podText)) {
      if (ref.includes('@')) continue;
      const digest = o.registry.push(ref);
      const resolved = `${splitRef(ref).repo}@${digest}`;
      casesText = casesText.replaceAll(`"${ref}"`, `"${resolved}"`);
      if (!ref.includes(':')) casesText = casesText.replaceAll(`"${ref}:latest"`, `"${resolved}"`);
    }
    const cases = JSON.parse(casesText) as SuiteCase[];
    const source = { text: policy.policyText, name: 'policy.rego', origin: `${dir} policy` };
    const agent = await AgentSession.create(source);
    // The same cases on an agent that has admitted the pod's pause container already: its record
    // (sandbox name, namespace, id) taken from the first app container's annotations.
    const firstCreate = cases.find((c) => c.kind === 'CreateContainerRequest');
    const anno = (
      agentInput('CreateContainerRequest', firstCreate?.request) as {
        OCI: { Annotations: Record<string, string> } | null;
      }
    ).OCI?.Annotations;
    const primed =
      anno && anno['io.kubernetes.cri.container-type'] === 'container'
        ? await AgentSession.create(source, {
            data: {
              pstate: {
                sandbox_created: true,
                sandbox_name: anno['io.kubernetes.cri.sandbox-name'],
                namespace: anno['io.kubernetes.cri.sandbox-namespace'],
                sandbox_id: anno['io.kubernetes.cri.sandbox-id'],
                containers: {},
              },
            },
          })
        : undefined;
    return cases.map((c, index) => {
      const input = agentInput(c.kind, c.request);
      const v = agent.evaluate(c.kind, input);
      const withSandbox = primed ? primed.evaluate(c.kind, input).allowed : v.allowed;
      const explain =
        process.env['GENPOLICY_SUITE_EXPLAIN'] && !withSandbox && c.allowed
          ? formatExplanation(explainVerdict(primed ?? agent, (primed ?? agent).probe(c.kind, input), input))
          : undefined;
      return {
        ...(explain ? { explain } : {}),
        dir,
        index,
        description: c.description,
        kind: c.kind,
        expected: c.allowed,
        got: v.allowed,
        gotWithSandbox: withSandbox,
        ...(v.error ? { error: v.error } : {}),
      };
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `equal/total` and the cases that differ (with the sandbox recorded first when `withSandbox`). */
export function summarize(
  results: CaseResult[],
  withSandbox = false,
): { equal: number; total: number; differing: CaseResult[] } {
  const differing = results.filter((r) => r.expected !== (withSandbox ? r.gotWithSandbox : r.got));
  return { equal: results.length - differing.length, total: results.length, differing };
}

export function caseKey(r: Pick<CaseResult, 'dir' | 'index'>): string {
  return `${r.dir}#${r.index}`;
}

/** skopeo is what pushes the equivalent images. */
export function haveSkopeo(): boolean {
  try {
    execFileSync('skopeo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
