// The script from Contrast's "Registry authentication" how-to, verbatim but for its three
// placeholders: it writes a docker config into a regular file (`DOCKER_CONFIG=$(mktemp)`) and runs
// `contrast generate "$@"`. Our tool must find the credential in that file (upstream goes anonymous).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliNodeArgs } from './cli.js';

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
  // Absolute paths and URLs only (tsx, if used, too): the wrapper runs from any directory.
  const argv = [process.execPath, ...cliNodeArgs].map((a) => `"${a}"`).join(' ');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${argv} "$@"\n`);
  chmodSync(wrapper, 0o755);
}
