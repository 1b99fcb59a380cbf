import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ContrastError, errorMessage } from '../internal/errors.js';
import { readRecord, recordPath } from '../release/record.js';
import { loadRelease } from '../release/release.js';
import { isLogLevel, log, setLogLevel } from '../internal/log.js';
import { registerAuthShow } from './auth-show.js';
import { registerGenerate } from './generate.js';
import { registerImageAnalyze } from './image-analyze.js';
import { registerImageInspect } from './image-inspect.js';
import { registerLogin } from './login.js';
import { registerLogout } from './logout.js';
import { registerMirror } from './mirror.js';
import { registerPolicyEval } from './policy-eval.js';
import { registerPolicyGenerate } from './policy-generate.js';
import { registerPullSecret } from './pull-secret.js';
import { registerRegistryCheck } from './registry-check.js';

// src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function buildProgram(): Command {
  const program = new Command('contrast')
    .option('-v, --version', 'print the version and the Contrast release this workspace targets')
    .description(
      'Generate Kata agent policies and the Contrast manifest for confidential Kubernetes workloads',
    )
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--workspace-dir <dir>', 'directory for manifest, keys and cache (default: current directory)')
    .showHelpAfterError()
    .hook('preAction', (cmd) => {
      const level = String(cmd.optsWithGlobals()['logLevel'] ?? 'info');
      if (!isLogLevel(level)) throw new ContrastError(`--log-level: unknown level "${level}"`);
      setLogLevel(level);
    });

  registerGenerate(program);
  registerLogin(program);
  registerLogout(program);
  registerMirror(program);
  registerPullSecret(program);

  const auth = program.command('auth').description('Inspect registry credentials');
  registerAuthShow(auth);

  const image = program.command('image').description('Inspect and analyze container images');
  registerImageInspect(image);
  registerImageAnalyze(image);

  const policy = program.command('policy').description('Generate and evaluate Kata agent policies');
  registerPolicyGenerate(policy);
  registerPolicyEval(policy);

  const registry = program.command('registry').description('Check registries for confidential-guest pulls');
  registerRegistryCheck(registry);

  return program;
}

/** `contrast --version`: our version, and which Contrast release the workspace targets and from where. */
async function printVersion(workspaceDir: string | undefined): Promise<void> {
  const lines = [packageVersion]; // first line: our version alone, as before (scripts read it)
  const rec = await readRecord(workspaceDir);
  if (!rec) {
    lines.push(
      `Contrast release: none selected for ${recordPath(workspaceDir)} (generate needs --contrast-release <dir>)`,
    );
  } else {
    try {
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
  const program = buildProgram();
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
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ContrastError) {
      log.error(err.message);
      if (err.hint) log.error(`hint: ${err.hint}`);
      return 1;
    }
    log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 2;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.exitCode = await main(process.argv);
}
