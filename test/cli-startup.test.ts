// The installable package and its start-up (issue 13): the lazy command table matches the commands,
// completion scripts work, and `npm pack` ships only what runs (built dist/, LICENSE, no tests).
import assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { runCli } from './helpers/cli.js';
import { lab } from './helpers/lab.js';
import { repoRoot } from './helpers/shared.js';

function tree(cmd: Command, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of cmd.commands) {
    out[`${prefix}${c.name()}`] = c.description();
    Object.assign(out, tree(c, `${prefix}${c.name()} `));
  }
  return out;
}

describe('lazy command loading', () => {
  it('the help table (nothing loaded) lists exactly the real commands with their descriptions', async () => {
    const full = tree(await buildProgram());
    const lazy = tree(await buildProgram(['node', 'contrast', '--help']));
    const groupsOnly = Object.fromEntries(Object.entries(full).filter(([k]) => !k.includes(' ')));
    assert.deepEqual(lazy, groupsOnly);
    const policy = tree(await buildProgram(['node', 'contrast', 'policy', '--help']));
    for (const k of ['policy generate', 'policy eval']) assert.equal(policy[k], full[k]);
  });

  it('`contrast help generate` and `contrast policy generate --help` show the real options', async () => {
    const r = await runCli(['help', 'generate']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--reference-values <platform>/);
    const p = await runCli(['--log-level', 'error', 'policy', 'generate', '--help']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /--flavour <flavour>/);
  });
});

describe('contrast completion', () => {
  it('bash: completes commands, subcommands and flags', async () => {
    const r = await runCli(['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    const file = join(mkdtempSync(join(tmpdir(), 'completion-')), 'c.bash');
    writeFileSync(file, r.stdout);
    const complete = (...words: string[]): string =>
      execFileSync(
        'bash',
        [
          '-c',
          `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _contrast; echo "\${COMPREPLY[*]}"`,
          file,
          ...words,
        ],
        { encoding: 'utf8' },
      ).trim();
    assert.equal(complete('contrast', 'pol'), 'policy');
    assert.equal(complete('contrast', 'policy', 'ev'), 'eval');
    assert.match(complete('contrast', 'policy', 'generate', '--fla'), /^--flavour$/);
    assert.match(complete('contrast', 'generate', '--reference-v'), /--reference-values/);
  });

  it('zsh and fish scripts name every command; an unknown shell is an error', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    assert.match(zsh.stdout, /^#compdef contrast/);
    assert.match(zsh.stdout, /'policy generate'\) cpath='policy generate'/);
    const fish = await runCli(['completion', 'fish']);
    assert.match(fish.stdout, /complete -c contrast -n '__fish_use_subcommand' -a 'generate'/);
    assert.match(fish.stdout, /-l 'reference-values' -r -F/);
    const bad = await runCli(['completion', 'tcsh']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown shell "tcsh"/);
  });
});

describe('npm pack', () => {
  it('builds in prepack and ships only the bundle, its assets, bin, LICENSE and README', (t) => {
    if (spawnSync('npm', ['--version'], { stdio: 'ignore' }).status !== 0) {
      t.skip('npm not installed');
      return;
    }
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const must of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/contrast.js',
      'dist/cli/launch.js',
      'dist/cli/main.cjs',
      'dist/cli/layer-worker.js',
      'dist/cli/rules.rego',
      'dist/cli/settings/guest-pull.json',
      'dist/cli/THIRD-PARTY-NOTICES.txt',
    ])
      assert.ok(files.includes(must), `${must} missing from ${files.join(', ')}`);
    for (const f of files) {
      assert.match(
        f,
        /^(LICENSE|README\.md|package\.json|bin\/contrast\.js|dist\/cli\/[^/]+\.(c?js|rego)|dist\/cli\/settings\/[^/]+\.json|dist\/cli\/THIRD-PARTY-NOTICES\.txt)$/,
        f,
      );
      assert.doesNotMatch(f, /test|fixture|testdata/);
    }
  });
});

describe('the built package (issue 15: dependencies bundled)', () => {
  it('runs from the packed tarball with no node_modules anywhere, and names every bundled licence', (t) => {
    if (spawnSync('npm', ['--version'], { stdio: 'ignore' }).status !== 0) {
      t.skip('npm not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'packed-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir, '--ignore-scripts=false'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const tarball = join(dir, (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename);
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    assert.ok(!existsSync(join(dir, 'node_modules')) && !existsSync(join(tmpdir(), 'node_modules')));
    const cacheHome = join(dir, 'xdg-cache');
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(dir, 'package/bin/contrast.js'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, XDG_CACHE_HOME: cacheHome },
      });
    // Each loads its command's chunks, so every bundled dependency is evaluated at least once.
    for (const args of [
      ['--version'],
      ['help', 'generate'],
      ['image', 'inspect', '--help'],
      ['policy', 'eval', '--help'],
    ]) {
      const r = cli(...args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    // The code cache (src/internal/compile-cache.ts): in the user's cache directory, one file for
    // each command that ran; a run that used its file leaves it as it is.
    // The loader decodes an ASCII bundle as latin1, a copy (scripts/build.mjs escapes what esbuild left).
    const bundle = readFileSync(join(dir, 'package/dist/cli/main.cjs'));
    assert.ok(isAscii(bundle), 'main.cjs is not ASCII');
    // The loader loads Node's modules the bundle requires before it raises V8's tier-up budget
    // (src/internal/tiering.ts): the list written into it must name each of them.
    const required = new Set(
      [...bundle.toString('latin1').matchAll(/require\("node:([a-z0-9_/]+)"\)/g)].map((m) => m[1]!),
    );
    // The list is the array of module names that includes zlib, wherever it sorts (not its first name).
    const listed = /\[(?:"[a-z0-9_/]+",\s*)*"zlib"(?:,\s*"[a-z0-9_/]+")*\]/.exec(
      readFileSync(join(dir, 'package/dist/cli/launch.js'), 'utf8'),
    );
    assert.ok(listed, 'no list of Node modules in launch.js');
    const preloaded = new Set(JSON.parse(listed[0]) as string[]);
    assert.ok(required.has('zlib') && required.has('http') && required.size > 10, [...required].join(', '));
    for (const name of required)
      if (name !== 'sqlite') assert.ok(preloaded.has(name), `${name} is not loaded first`);
    assert.ok(!preloaded.has('sqlite'), 'node:sqlite warns when loaded on Node 22');
    const compileCache = join(cacheHome, 'contrast/compile-cache');
    const cacheFiles = () => readdirSync(compileCache).sort();
    const files = cacheFiles();
    assert.equal(files.length, 4, files.join(', '));
    const stats = files.map((f) => statSync(join(compileCache, f)));
    assert.equal(cli('--version').status, 0);
    assert.equal(cli('help', 'generate').status, 0);
    assert.deepEqual(cacheFiles(), files);
    assert.deepEqual(
      files.map((f) => statSync(join(compileCache, f)).mtimeMs),
      stats.map((s) => s.mtimeMs),
    );
    // Node's switch for its own compile cache turns ours off too.
    const off = spawnSync(process.execPath, [join(dir, 'package/bin/contrast.js'), '--version'], {
      encoding: 'utf8',
      env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg-off'), NODE_DISABLE_COMPILE_CACHE: '1' },
    });
    assert.equal(off.status, 0, off.stderr);
    assert.ok(!existsSync(join(dir, 'xdg-off')));
    const notices = readFileSync(join(dir, 'package/dist/cli/THIRD-PARTY-NOTICES.txt'), 'utf8');
    // The packages the CLI's code imports (all bundled, so package.json needs no `dependencies` and
    // installing the package downloads nothing else).
    const packed = JSON.parse(readFileSync(join(dir, 'package/package.json'), 'utf8')) as {
      dependencies?: object;
    };
    assert.equal(packed.dependencies, undefined);
    for (const d of ['commander', 'fast-json-patch', 'fzstd', 're2js', 'smol-toml', 'undici', 'yaml'])
      assert.match(notices, new RegExp(`^${d} \\S+ \\(`, 'm'), `${d} licence missing`);

    // A real run of the package: the bundle finds its rules and default settings beside it (its
    // `import.meta.url` is the launcher's doing in a CommonJS bundle) and analyses a lab image.
    const l = lab();
    if (!l) {
      t.diagnostic('registry lab not running: the packed policy generate run is skipped');
      return;
    }
    const image = `${l.a}/test/app:v1`;
    const work = join(dir, 'work');
    mkdirSync(join(work, 'settings.d'), { recursive: true });
    writeFileSync(
      join(work, 'settings.d/10-pause.json'),
      JSON.stringify([{ op: 'replace', path: '/cluster_config/pause_container_image', value: image }]),
    );
    const pod = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  runtimeClassName: contrast-cc-metal-qemu-snp\n  containers:\n    - name: app\n      image: "${image}"\n`;
    const generate = () =>
      spawnSync(
        process.execPath,
        [
          join(dir, 'package/bin/contrast.js'),
          'policy',
          'generate',
          '-',
          '--settings-drop-in',
          join(work, 'settings.d'),
          '--insecure-registry',
          l.a,
          '--no-cache',
          '--no-progress',
        ],
        { encoding: 'utf8', input: pod, cwd: work, env: { ...process.env, XDG_CACHE_HOME: cacheHome } },
      );
    const r = generate();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /io\.katacontainers\.config\.hypervisor\.cc_init_data: /);
    // Without a layer cache the run started a layer worker, which puts V8's default tier-up budget
    // back (src/internal/tiering.ts); the code cache is still stored under the flags the next run
    // starts with, so that run uses it and rewrites nothing.
    const written = new Map(cacheFiles().map((f) => [f, statSync(join(compileCache, f)).mtimeMs]));
    assert.equal(generate().status, 0);
    assert.deepEqual(new Map(cacheFiles().map((f) => [f, statSync(join(compileCache, f)).mtimeMs])), written);
  });
});

describe('what `contrast generate` loads (issue 15)', () => {
  it('its static imports leave out the Rego engine, policy eval and review (only --check loads them)', async () => {
    const { build } = await import('esbuild');
    const r = await build({
      absWorkingDir: repoRoot,
      entryPoints: ['src/cli/generate.ts'],
      bundle: true,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      write: false,
      metafile: true,
      outdir: join(tmpdir(), 'unused'),
      logLevel: 'silent',
    });
    // Breadth-first over static imports only; `await import()` is what keeps a module out.
    const inputs = r.metafile.inputs;
    const seen = new Set(['src/cli/generate.ts']);
    const queue = ['src/cli/generate.ts'];
    for (let f = queue.shift(); f !== undefined; f = queue.shift())
      for (const i of inputs[f]?.imports ?? [])
        if (i.kind === 'import-statement' && !i.external && !seen.has(i.path)) {
          seen.add(i.path);
          queue.push(i.path);
        }
    assert.ok(seen.has('src/workflows/generate.ts') && seen.has('src/kube/yaml.ts'), [...seen].join(', '));
    assert.deepEqual(
      [...seen].filter((p) => /^src\/(rego|policyeval|review)\//.test(p)),
      [],
      'generate loads these at start-up',
    );
  });
});
