import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ContrastError, errorExitStatus, errorMessage } from '../internal/errors.js';
import { DEFAULT_LOG_LEVEL, isLogLevel, log, setLogLevel } from '../internal/log.js';
import { commandPath } from './command-path.js';

// src/cli/main.ts and dist/cli/main.cjs both sit two levels below package.json.
const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The command tree, loaded lazily: `--version`, `--help` and every command load only commander and
 * this table, plus the one module of the command that runs (issue 13: start-up ≤ 2× `node -e 0`).
 * The descriptions here are what `contrast --help` lists; test/cli-startup.test.ts checks they
 * equal the commands' own.
 */
interface LazyCommand {
  name: string;
  description: string;
  register: () => Promise<(parent: Command) => void>;
}

const COMMANDS: LazyCommand[] = [
  {
    name: 'generate',
    description: 'Generate policies and inject them into Kubernetes resources; create or update the manifest',
    register: async () => (await import('./generate.js')).registerGenerate,
  },
  {
    name: 'login',
    description:
      'Store Basic credentials for a registry where Docker would (config file or credential helper)',
    register: async () => (await import('./login.js')).registerLogin,
  },
  {
    name: 'logout',
    description: 'Remove stored credentials for a registry (config file entries and credential helper)',
    register: async () => (await import('./logout.js')).registerLogout,
  },
  {
    name: 'mirror',
    description:
      'Copy images to a private registry byte for byte (digests unchanged), for guests that pull without credentials',
    register: async () => (await import('./mirror.js')).registerMirror,
  },
  {
    name: 'pull-secret',
    description: 'Print a kubernetes.io/dockerconfigjson Secret built from your credentials for a registry',
    register: async () => (await import('./pull-secret.js')).registerPullSecret,
  },
  {
    name: 'completion',
    description: 'Print a shell completion script: bash, zsh or fish',
    register: async () => {
      const { registerCompletion } = await import('./completion.js');
      return (parent) => registerCompletion(parent, () => buildProgram());
    },
  },
];

const GROUPS: Array<{ name: string; description: string; commands: LazyCommand[] }> = [
  {
    name: 'auth',
    description: 'Inspect registry credentials',
    commands: [
      {
        name: 'show',
        description: 'Show which credential would be used for an image or registry, and where it comes from',
        register: async () => (await import('./auth-show.js')).registerAuthShow,
      },
    ],
  },
  {
    name: 'image',
    description: 'Inspect and analyze container images',
    commands: [
      {
        name: 'inspect',
        description: 'Show an image manifest, config and layers (the digest-verified platform image)',
        register: async () => (await import('./image-inspect.js')).registerImageInspect,
      },
      {
        name: 'analyze',
        description:
          'Stream every layer once: verify digests and diff_ids, resolve the image user, compute dm-verity roots',
        register: async () => (await import('./image-analyze.js')).registerImageAnalyze,
      },
    ],
  },
  {
    name: 'policy',
    description: 'Generate and evaluate Kata agent policies',
    commands: [
      {
        name: 'generate',
        description:
          'Generate Kata agent policies for the confidential workloads in Kubernetes YAML and add them as annotations',
        register: async () => (await import('./policy-generate.js')).registerPolicyGenerate,
      },
      {
        name: 'eval',
        description: 'Evaluate a Kata agent policy against an input or a recorded agent request log',
        register: async () => (await import('./policy-eval.js')).registerPolicyEval,
      },
      {
        name: 'show',
        description:
          'Show what a policy admits: every container (image, user, args, env, mounts, capabilities, exec) and the sandbox switches',
        register: async () => (await import('./policy-show.js')).registerPolicyShow,
      },
      {
        name: 'diff',
        description: 'Semantic diff of the policies in A and B (YAML files or directories, .rego, initdata)',
        register: async () => (await import('./policy-diff.js')).registerPolicyDiff,
      },
    ],
  },
  {
    name: 'registry',
    description: 'Check registries for confidential-guest pulls',
    commands: [
      {
        name: 'check',
        description:
          'Check that the confidential guest can pull images by itself: pinned, public-PKI TLS, anonymous pull, digest',
        register: async () => (await import('./registry-check.js')).registerRegistryCheck,
      },
    ],
  },
];

/** A stand-in that only lists the command in help; the real one replaces it when it runs. */
function placeholder(parent: Command, c: { name: string; description: string }): void {
  parent
    .command(c.name)
    .description(c.description)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new Error(`internal: command "${c.name}" was not loaded for this command line`);
    });
}

/**
 * The CLI program. With `argv`, only the command it names is loaded (the others are help entries);
 * without, every command is loaded (completion scripts, tests).
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command('contrast')
    .option('-v, --version', 'print the version and the Contrast release this workspace targets')
    .description(
      'Generate Kata agent policies and the Contrast manifest for confidential Kubernetes workloads',
    )
    .option('--log-level <level>', 'debug, info, warn or error', DEFAULT_LOG_LEVEL)
    .option('--workspace-dir <dir>', 'directory for manifest, keys and cache (default: current directory)')
    .showHelpAfterError()
    // Subcommands inherit this: their usage errors reach main() instead of calling process.exit.
    .exitOverride()
    .hook('preAction', (cmd) => {
      const level = String(cmd.optsWithGlobals()['logLevel'] ?? DEFAULT_LOG_LEVEL);
      if (!isLogLevel(level)) throw new ContrastError(`--log-level: unknown level "${level}"`);
      setLogLevel(level);
    });
  const path = argv === undefined ? undefined : commandPath(argv.slice(2));
  const wanted = (names: string[]): boolean => path === undefined || names.every((n, i) => path[i] === n);

  for (const c of COMMANDS) {
    if (wanted([c.name])) (await c.register())(program);
    else placeholder(program, c);
  }
  for (const g of GROUPS) {
    if (!wanted([g.name])) {
      placeholder(program, g);
      continue;
    }
    const group = program.command(g.name).description(g.description);
    for (const c of g.commands) {
      // `contrast policy --help` lists the group's commands without loading them.
      if (path === undefined || path[1] === c.name) (await c.register())(group);
      else placeholder(group, c);
    }
  }
  return program;
}

/** `contrast --version`: our version, and which Contrast release the workspace targets and from where. */
async function printVersion(workspaceDir: string | undefined): Promise<void> {
  const lines = [packageVersion]; // first line: our version alone, as before (scripts read it)
  // The release parser (YAML) loads only when a release is recorded: start-up stays ≤ 2× node.
  const { recordPath } = await import('../release/record-path.js');
  const recorded = existsSync(recordPath(workspaceDir));
  const { readRecord } = recorded
    ? await import('../release/record.js')
    : { readRecord: async () => undefined };
  const rec = await readRecord(workspaceDir);
  if (!rec) {
    lines.push(
      `Contrast release: none selected for ${recordPath(workspaceDir)} (generate needs --contrast-release <dir>)`,
    );
  } else {
    try {
      const { loadRelease } = await import('../release/release.js');
      const r = await loadRelease(rec.source);
      lines.push(`Contrast release: ${r.version} (${r.line} line)`);
      lines.push(`  pins from ${r.source} (recorded in ${recordPath(workspaceDir)})`);
      for (const [platform, handler] of r.handlers) lines.push(`  runtime ${platform}: ${handler}`);
      for (const [from, to] of [...r.imageReplacements].sort()) lines.push(`  image ${from} = ${to}`);
      lines.push(
        `  reference values: ${r.referenceValues ? 'reference-values.json' : 'none (new manifests fail)'}`,
      );
    } catch (err) {
      lines.push(`Contrast release: ${rec.version} at ${rec.source}: unreadable: ${errorMessage(err)}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** Runs the CLI and returns the process exit code. User errors print one clear message, no stack. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  program.exitOverride();
  try {
    const args = argv.slice(2);
    // Global options before the subcommand; --log-level and --workspace-dir take a value.
    let sub = -1;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--log-level' || a === '--workspace-dir') i++;
      else if (!a.startsWith('-')) {
        sub = i;
        break;
      }
    }
    const head = sub < 0 ? args : args.slice(0, sub);
    if (head.includes('-v') || head.includes('--version')) {
      const i = head.findIndex((a) => a === '--workspace-dir' || a.startsWith('--workspace-dir='));
      const ws = i < 0 ? undefined : head[i]!.includes('=') ? head[i]!.split('=')[1] : head[i + 1];
      await printVersion(ws);
      return 0;
    }
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // With --check, 1 means "stale": a usage error must not look like an answer.
    if (err instanceof CommanderError)
      // 2 = EXIT_ERROR of exit-status.ts (not imported here: start-up loads only what runs).
      return err.exitCode !== 0 && argv.includes('--check') ? 2 : err.exitCode;
    if (err instanceof ContrastError) {
      log.error(err.message);
      if (err.hint) log.hint(err.hint);
      return err.exitCode ?? errorExitStatus();
    }
    log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 2;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
// Not a top-level await: the built CLI is a CommonJS bundle (src/cli/launch.ts).
if (invokedDirectly) void main(process.argv).then((code) => (process.exitCode = code));
