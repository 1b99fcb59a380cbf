// The script from Contrast's "Registry authentication" how-to, verbatim but for its three
// placeholders: it writes a docker config into a regular file (`DOCKER_CONFIG=$(mktemp)`) and runs
// `contrast generate "$@"`. Our tool must find the credential in that file (upstream goes anonymous).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliEntry } from './cli.js';
import { repoRoot } from './shared.js';

export const guideScript = `#!/bin/sh

registry="<put registry here>"
user="<put user id here>"
password="<put client secret here>"

export DOCKER_CONFIG=$(mktemp)

cat >"\${DOCKER_CONFIG}" <<EOF
{
        "auths": {
                "$registry": {
                        "auth": "$(printf "%s:%s" "$user" "$password" | base64 -w0)"
                }
        }
}
EOF

contrast generate "$@"
`;

export function fillGuideScript(registry: string, user: string, password: string): string {
  return guideScript
    .replace('<put registry here>', registry)
    .replace('<put user id here>', user)
    .replace('<put client secret here>', password);
}

/** Puts a `contrast` executable (the CLI from source) into `binDir`, as an installed CLI would be. */
export function installContrast(binDir: string): void {
  const wrapper = join(binDir, 'contrast');
  // tsx by absolute URL: the wrapper runs from any directory, where a bare `tsx` would not resolve.
  const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${cliEntry}" "$@"\n`);
  chmodSync(wrapper, 0o755);
}
