// `contrast completion bash|zsh|fish`: a completion script built from the command tree itself, so it
// always lists the commands and flags this version has. Install: `source <(contrast completion bash)`,
// `contrast completion zsh > "${fpath[1]}/_contrast"`, `contrast completion fish > ~/.config/fish/completions/contrast.fish`.
import type { Command } from 'commander';
import { ContrastError } from '../internal/errors.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface Node {
  /** Command path without the program name, e.g. `policy generate`. */
  path: string[];
  description: string;
  options: Array<{ flags: string[]; description: string; takesValue: boolean }>;
  children: string[];
}

function collect(cmd: Command, path: string[], out: Node[]): void {
  out.push({
    path,
    description: cmd.description(),
    options: [
      ...cmd.options.map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => typeof f === 'string'),
        description: o.description,
        takesValue: o.required || o.optional,
      })),
      { flags: ['-h', '--help'], description: 'display help', takesValue: false },
    ],
    children: cmd.commands.map((c) => c.name()),
  });
  for (const c of cmd.commands) collect(c, [...path, c.name()], out);
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(nodes: Node[]): string {
  const cases = nodes
    .map((n) => {
      const words = [...n.children, ...n.options.flatMap((o) => o.flags)].join(' ');
      return `    ${quote(n.path.join(' '))}) words=${quote(words)} ;;`;
    })
    .join('\n');
  return `# bash completion for contrast (contrast completion bash)
_contrast() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cpath="" i w words
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
${walk(nodes, cases)}
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  [[ \${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o default -F _contrast contrast
`;
}

/**
 * The end of the loop over the words typed so far (bash and zsh share it): follow them down the command
 * tree into `cpath`, skipping flags, then pick the completions of that command with `cases`.
 */
function walk(nodes: Node[], cases: string): string {
  const arms = nodes
    .filter((n) => n.path.length > 0)
    .map((n) => `      ${quote(n.path.join(' '))}) cpath=${quote(n.path.join(' '))} ;;`)
    .join('\n');
  return `    [[ $w == -* ]] && continue
    case "\${cpath:+$cpath }$w" in
${arms}
    esac
  done
  case "$cpath" in
${cases}
  esac`;
}

function zsh(nodes: Node[]): string {
  const cases = nodes
    .map((n) => {
      const specs = [
        ...n.children.map((c) => {
          const child = nodes.find((x) => x.path.join(' ') === [...n.path, c].join(' '));
          return quote(`${c}:${(child?.description ?? '').replace(/:/g, '\\:')}`);
        }),
      ];
      const flags = n.options.flatMap((o) =>
        o.flags.map((f) => quote(`${f}:${o.description.replace(/:/g, '\\:')}`)),
      );
      return `    ${quote(n.path.join(' '))})\n      cmds=(${specs.join(' ')})\n      flags=(${flags.join(' ')}) ;;`;
    })
    .join('\n');
  return `#compdef contrast
# zsh completion for contrast (contrast completion zsh)
_contrast() {
  local -a cmds flags
  local cpath="" w
  for w in \${words[2,CURRENT-1]}; do
${walk(nodes, cases)}
  if [[ $PREFIX == -* ]]; then
    _describe -t flags 'flag' flags
  elif (( \${#cmds} )); then
    _describe -t commands 'command' cmds
  else
    _files
  fi
}
compdef _contrast contrast
`;
}

function fish(nodes: Node[]): string {
  const lines = ['# fish completion for contrast (contrast completion fish)', 'complete -c contrast -f'];
  for (const n of nodes) {
    // Fish conditions: the words seen so far are exactly this command path.
    const cond =
      n.path.length === 0
        ? `__fish_use_subcommand`
        : `__fish_seen_subcommand_from ${n.path.at(-1)}` +
          (n.path.length > 1 ? `; and __fish_seen_subcommand_from ${n.path[0]}` : '');
    for (const c of n.children) {
      const child = nodes.find((x) => x.path.join(' ') === [...n.path, c].join(' '));
      const when =
        n.path.length === 0 ? cond : `${cond}; and not __fish_seen_subcommand_from ${n.children.join(' ')}`;
      lines.push(
        `complete -c contrast -n ${quote(when)} -a ${quote(c)} -d ${quote(child?.description ?? '')}`,
      );
    }
    if (n.path.length === 0) continue;
    for (const o of n.options) {
      const parts = o.flags.map((f) =>
        f.startsWith('--') ? `-l ${quote(f.slice(2))}` : `-s ${quote(f.slice(1))}`,
      );
      lines.push(
        `complete -c contrast -n ${quote(cond)} ${parts.join(' ')}${o.takesValue ? ' -r -F' : ''} -d ${quote(o.description)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

export function completionScript(program: Command, shell: string): string {
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new ContrastError(`completion: unknown shell "${shell}"`, { hint: `use ${SHELLS.join(', ')}` });
  }
  const nodes: Node[] = [];
  collect(program, [], nodes);
  return { bash, zsh, fish }[shell as Shell](nodes);
}

/** `fullProgram` builds the whole command tree (main.ts passes it: importing main here would be a cycle). */
export function registerCompletion(parent: Command, fullProgram: () => Promise<Command>): void {
  parent
    .command('completion')
    .description('Print a shell completion script: bash, zsh or fish')
    .argument('<shell>', SHELLS.join(', '))
    .action(async (shell: string) => {
      // Every command, with its flags: load the whole tree (start-up time does not matter here).
      process.stdout.write(completionScript(await fullProgram(), shell));
    });
}
