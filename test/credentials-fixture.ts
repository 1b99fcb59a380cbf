// Real files and real helper processes for credential tests: a temporary HOME with XDG dirs, a
// bin/ directory on PATH holding docker-credential-* scripts, and an environment that contains
// nothing of the developer's own (no DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface CredentialFixture {
  root: string;
  home: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  /** Writes a file (creating directories) and returns its path. */
  write(rel: string, content: string | object): string;
  read(rel: string): string;
  /** Installs a helper script as bin/docker-credential-<name>. */
  helper(name: string, script: string): string;
  /** Lines each helper call appended to helper.log (`<name> <action> <stdin>`). */
  helperLog(): string[];
  cleanup(): void;
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function credentialFixture(): CredentialFixture {
  const root = mkdtempSync(join(tmpdir(), 'contrast-cred-'));
  const home = join(root, 'home');
  const bin = join(root, 'bin');
  mkdirSync(home, { recursive: true });
  mkdirSync(bin, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    TMPDIR: root,
    HELPER_LOG: join(root, 'helper.log'),
    HELPER_STATE: join(root, 'helper-state.json'),
  };
  const abs = (rel: string): string => (rel.startsWith('/') ? rel : join(root, rel));
  return {
    root,
    home,
    bin,
    env,
    write(rel, content) {
      const path = abs(rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return path;
    },
    read(rel) {
      return readFileSync(abs(rel), 'utf8');
    },
    helper(name, script) {
      const path = join(bin, `docker-credential-${name}`);
      writeFileSync(path, script);
      chmodSync(path, 0o755);
      return path;
    },
    helperLog() {
      try {
        return readFileSync(join(root, 'helper.log'), 'utf8')
          .split('\n')
          .filter((l) => l !== '');
      } catch {
        return [];
      }
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A shell helper that logs its call, then answers `get` with the given JSON (other actions fail). */
export function shellGetHelper(name: string, json: string): string {
  return `#!/bin/sh
input=$(cat)
echo "${name} $1 $input" >> "$HELPER_LOG"
[ "$1" = get ] || { echo "unsupported"; exit 1; }
cat <<'JSON'
${json}
JSON
`;
}

export const helpers = {
  /** Echoes the address it was asked for as the username: shows which spelling was passed. */
  echo: `#!/bin/sh
input=$(cat)
echo "echo $1 $input" >> "$HELPER_LOG"
printf '{"ServerURL":"%s","Username":"%s","Secret":"echo-secret-pw-4711"}' "$input" "$input"
`,
  notFound: `#!/bin/sh
input=$(cat)
echo "notfound $1 $input" >> "$HELPER_LOG"
echo "credentials not found in native keychain"
exit 1
`,
  failing: `#!/bin/sh
cat >/dev/null
echo "error: the keychain is locked"
echo "details on stderr" >&2
exit 1
`,
  slow: `#!/bin/sh
cat >/dev/null
sleep 30
echo '{"Username":"late","Secret":"too-late-secret"}'
`,
  garbage: `#!/bin/sh
cat >/dev/null
echo "this is not json"
`,
  /**
   * A credential store kept in $HELPER_STATE (JSON address → {Username, Secret}) implementing
   * get/store/erase/list like the real helpers, written in Node.
   */
  store: `#!${process.execPath}
const fs = require('node:fs');
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const statePath = process.env.HELPER_STATE;
let state = {};
try { state = JSON.parse(fs.readFileSync(statePath, 'utf8')); } catch {}
fs.appendFileSync(process.env.HELPER_LOG, 'store-helper ' + action + ' ' + (action === 'store' ? JSON.parse(input).ServerURL : input.trim()) + '\\n');
const save = () => fs.writeFileSync(statePath, JSON.stringify(state));
if (action === 'get') {
  const e = state[input.trim()];
  if (!e) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ServerURL: input.trim(), Username: e.Username, Secret: e.Secret }));
} else if (action === 'store') {
  const c = JSON.parse(input);
  state[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  save();
} else if (action === 'erase') {
  if (!state[input.trim()]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  delete state[input.trim()];
  save();
} else if (action === 'list') {
  process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.Username]))));
} else { process.stdout.write('unknown action'); process.exit(1); }
`,
};
