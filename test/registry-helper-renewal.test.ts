// After a 401 the registry transport must really ask the credential helper again: a helper may hand
// out short-lived secrets (docker-credential-ecr-login, docker-credential-gcloud), and the answer it
// gave earlier in the run is then stale. The helper here is a real script on PATH whose answer
// changes between calls; the registry is the lab's real HTTPS + Basic distribution registry.
import assert from 'node:assert/strict';
import { after, it, type TestContext } from 'node:test';
import { forgetCredential } from '../src/credentials/index.js';
import { setLogLevel } from '../src/internal/log.js';
import { RegistryClient } from '../src/registry/index.js';
import { credentialFixture, type CredentialFixture } from './credentials-fixture.js';
import { requireLab, seed, type Lab } from './helpers/lab.js';

const fixtures: CredentialFixture[] = [];
after(() => {
  for (const f of fixtures) f.cleanup();
});

/** First call: a secret the registry refuses (expired); every later call: the valid one. */
const rotatingHelper = `#!/bin/sh
input=$(cat)
echo "rotating $1 $input" >> "$HELPER_LOG"
[ "$1" = get ] || exit 1
if [ -e "$HELPER_STATE" ]; then secret="$LAB_PASS_FOR_HELPER"; else secret=expired-secret; : > "$HELPER_STATE"; fi
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$input" "$LAB_USER_FOR_HELPER" "$secret"
`;

/** A client whose credential for registry b comes from the rotating helper; `renewed` is its later secret. */
function rotatingSetup(
  t: TestContext,
  lab: Lab,
  renewed: string,
): { fx: CredentialFixture; client: RegistryClient } {
  setLogLevel('silent');
  forgetCredential();
  const fx = credentialFixture();
  fixtures.push(fx);
  fx.helper('rotating', rotatingHelper);
  const config = fx.write('docker/config.json', { credHelpers: { [lab.b]: 'rotating' } });
  const env = {
    ...fx.env,
    DOCKER_CONFIG: config.replace(/\/config\.json$/, ''),
    LAB_USER_FOR_HELPER: lab.user,
    LAB_PASS_FOR_HELPER: renewed,
  };
  const client = new RegistryClient({
    caFile: lab.caCert,
    credentials: { env },
    registriesConfig: { path: undefined, registries: [] },
  });
  t.after(() => client.close());
  return { fx, client };
}

it('a 401 with a helper credential asks the helper again and retries once with its new secret', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const { fx, client } = rotatingSetup(t, lab, lab.pass);
  const img = await client.resolveImage(`${lab.b}/test/app:v1`);
  assert.equal(img.digest, seed.appV1);
  assert.equal(img.credential.source.type, 'helper');
  const gets = fx.helperLog().filter((l) => l.startsWith('rotating get'));
  assert.equal(gets.length, 2, `the helper is asked once, then once more after the 401: ${gets.join('; ')}`);
});

it('a helper that answers the same refused secret again is not retried in a loop', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const { fx, client } = rotatingSetup(t, lab, 'expired-secret');
  await assert.rejects(client.resolveImage(`${lab.b}/test/app:v1`), (err: Error) => {
    assert.match(err.message, /401/);
    assert.doesNotMatch(err.message, /expired-secret/);
    return true;
  });
  assert.equal(fx.helperLog().filter((l) => l.startsWith('rotating get')).length, 2);
});
