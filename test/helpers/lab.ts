// Access to the registry lab that scripts/test.mjs starts (real distribution registries on 127.0.0.1).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export interface Lab {
  /** host:port of the anonymous HTTP registry. */
  a: string;
  /** host:port of the HTTPS + Basic registry. */
  b: string;
  /** host:port of the HTTPS + Bearer token registry. */
  c: string;
  tokenRealm: string;
  tokenService: string;
  user: string;
  pass: string;
  caCert: string;
  certDir: string;
  authFile: string;
  state: string;
  dir: string;
}

function hostOf(url: string | undefined): string | undefined {
  return url ? new URL(url).host : undefined;
}

/** The running lab, or undefined when the test run has none (tools not installed). */
export function lab(): Lab | undefined {
  const e = process.env;
  const a = hostOf(e['LAB_REGISTRY_A']);
  const b = hostOf(e['LAB_REGISTRY_B']);
  const c = hostOf(e['LAB_REGISTRY_C']);
  if (!a || !b || !c || !e['LAB_STATE']) return undefined;
  return {
    a,
    b,
    c,
    tokenRealm: e['LAB_TOKEN_REALM'] ?? '',
    tokenService: e['LAB_TOKEN_SERVICE'] ?? '',
    user: e['LAB_USER'] ?? '',
    pass: e['LAB_PASS'] ?? '',
    caCert: e['LAB_CA_CERT'] ?? '',
    certDir: e['LAB_CERT_DIR'] ?? '',
    authFile: e['LAB_AUTHFILE'] ?? '',
    state: e['LAB_STATE'],
    dir: e['LAB_DIR'] ?? '',
  };
}

/** Returns the lab, or marks the test skipped with the reason and returns undefined. */
export function requireLab(t: TestContext): Lab | undefined {
  const l = lab();
  if (!l)
    t.skip(
      'registry lab not running (run tests with `npm test`, which starts it; needs docker-registry, skopeo, umoci)',
    );
  return l;
}

/** `text` as a literal in a RegExp (for lab hosts in expected messages: `127.0.0.1:5001`). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Seeded digests (reproducible; see test/lab/README). */
export const seed = {
  appV1: 'sha256:42c3221d458c75fef87db27dd0a4e4bb6b5be39b53742b3eec59e30f2474c472',
  appV1Arm64: 'sha256:55769e40e019932ede0f4059b1905700e9d7e42280ad96792bd47034dc67ffce',
  appV1Docker: 'sha256:b7c321510240112082e9293f665bbefb75a724db347cc34d8975c3171bf65c07',
  multiV1: 'sha256:47e2ee6f1c9c2bde20f57ab6ff04a6172c7e739b0c578d7d052fe7d8f272bfd1',
  multiV1Docker: 'sha256:e981cc5b6a4c18b569e023e28420e91d17783bcbfbe06f0e9ef9b4464089385a',
} as const;

/**
 * A refresh token (an identity token, as `docker login` stores it) from the lab's token server: the
 * OAuth2 password grant with `access_type=offline`.
 */
export async function refreshToken(lab: Lab): Promise<string> {
  const { request, Agent } = await import('undici');
  const agent = new Agent({ connect: { ca: readFileSync(lab.caCert, 'utf8') } });
  const form = new URLSearchParams({
    grant_type: 'password',
    username: lab.user,
    password: lab.pass,
    service: lab.tokenService,
    client_id: 'contrast-tests',
    access_type: 'offline',
    scope: 'repository:test/app:pull',
  });
  const res = await request(lab.tokenRealm, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    dispatcher: agent,
  });
  const body = (await res.body.json()) as { refresh_token?: string };
  await agent.close();
  assert.equal(res.statusCode, 200);
  assert.ok(body.refresh_token);
  return body.refresh_token;
}
