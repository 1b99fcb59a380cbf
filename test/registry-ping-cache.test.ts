// A warm run against the lab's real registries skips the /v2/ ping (what the cold run's ping learned is
// in the ping cache beside the metadata cache) and still authenticates as before: anonymous over
// plain HTTP (bare insecure host: HTTPS tried first in the cold run) and Basic skip the ping; Bearer
// with a password or an identity token is pinged every run. The cache file never holds a credential.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refreshToken, requireLab, type Lab } from './helpers/lab.js';
import { RegistryClient, type RegistryClientOptions } from '../src/registry/index.js';
import { PingCache } from '../src/registry/ping-cache.js';
import { setLogLevel, setLogSink } from '../src/internal/log.js';

function labClient(lab: Lab, dir: string, extra: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    caFile: lab.caCert,
    insecureRegistries: [lab.a],
    credentials: { authFile: lab.authFile, env: {} },
    registriesConfig: { path: undefined, registries: [] },
    ...extra,
  });
  c.useMetadataCache(dir);
  return c;
}

/** Runs `fn` with debug logging captured; returns the request lines (`GET https://…/v2/ -> 401 …`). */
async function requests(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  setLogLevel('debug');
  const prev = setLogSink({ write: (l: string) => void lines.push(l) });
  try {
    await fn();
  } finally {
    setLogSink(prev);
    setLogLevel('silent');
  }
  return lines.filter((l) => / -> \d{3} \(| failed: /.test(l));
}

const pingLines = (lines: string[]) => lines.filter((l) => /(GET|HEAD) https?:\/\/[^ /]+\/v2\/ /.test(l));

/** Every ping-cache file's text ('' when nothing was cached, as for a Bearer registry). */
function cacheText(dir: string): string {
  const d = join(dir, 'ping');
  if (!existsSync(d)) return '';
  return readdirSync(d)
    .map((f) => readFileSync(join(d, f), 'utf8'))
    .join('\n');
}

async function coldThenWarm(
  t: TestContext,
  lab: Lab,
  ref: string,
  extra: RegistryClientOptions,
  secrets: string[],
): Promise<{ cold: string[]; warm: string[]; kind: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ping-cache-lab-'));
  const cold = await requests(async () => {
    const c = labClient(lab, dir, extra);
    await c.resolveImage(ref);
    await c.close();
  });
  let kind = '';
  const warm = await requests(async () => {
    const c = labClient(lab, dir, extra);
    t.after(() => c.close());
    kind = (await c.resolveImage(ref)).credential.kind;
  });
  const text = cacheText(dir);
  for (const s of secrets) assert.ok(s.length > 3 && !text.includes(s), 'the ping cache holds a secret');
  assert.doesNotMatch(text, /authorization|"token"|Basic [A-Za-z0-9+/=]{8}/i);
  return { cold, warm, kind };
}

test('warm resolve skips the ping: anonymous HTTP (bare insecure host), Basic, Bearer', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const a = await coldThenWarm(t, lab, `${lab.a}/test/app:v1`, {}, []);
  assert.equal(pingLines(a.cold).length, 2, `HTTPS then HTTP ping in the cold run:\n${a.cold.join('')}`);
  assert.deepEqual(pingLines(a.warm), [], a.warm.join(''));
  assert.equal(a.warm.length, 1, `one HEAD by tag, no failed HTTPS attempt:\n${a.warm.join('')}`);

  const basic = await coldThenWarm(t, lab, `${lab.b}/test/app:v1`, {}, [lab.pass]);
  assert.equal(pingLines(basic.cold).length, 1);
  assert.deepEqual(pingLines(basic.warm), []);
  assert.equal(basic.kind, 'basic');
  assert.match(basic.warm.join(''), /HEAD https:\/\/[^ ]+\/manifests\/v1 -> 200 .*auth: basic/);

  // A Bearer registry is pinged every run: the realm that receives the credentials is the one the
  // registry names now, never one remembered from an earlier run.
  const bearer = await coldThenWarm(t, lab, `${lab.c}/test/app:v1`, {}, [lab.pass]);
  assert.equal(pingLines(bearer.warm).length, 1, bearer.warm.join(''));
  assert.equal(bearer.kind, 'basic');
  assert.match(bearer.warm.join(''), /HEAD https:\/\/[^ ]+\/manifests\/v1 -> 200 .*auth: bearer/);
});

test('warm resolve with an identity token: pinged again, refresh POST to the realm it names now', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const rt = await refreshToken(lab);
  const dir = mkdtempSync(join(tmpdir(), 'ping-cache-auth-'));
  const file = join(dir, 'auth.json');
  writeFileSync(
    file,
    JSON.stringify({
      auths: { [lab.c]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: rt } },
    }),
  );
  const r = await coldThenWarm(t, lab, `${lab.c}/test/app:v1`, { credentials: { authFile: file, env: {} } }, [
    rt,
  ]);
  assert.equal(r.kind, 'identity-token');
  assert.equal(pingLines(r.warm).length, 1, r.warm.join(''));
  assert.match(r.warm.join(''), /POST https:\/\/[^ ]+ -> 200/);
});

test('a cached plain-HTTP scheme for a TLS registry (bare insecure host) falls back to a real ping', async (t) => {
  const lab = requireLab(t);
  if (!lab) return;
  const dir = mkdtempSync(join(tmpdir(), 'ping-cache-lab-'));
  await new PingCache(dir).put(lab.b, 'any', {
    scheme: 'http',
    challenges: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }],
  });
  const lines = await requests(async () => {
    const c = labClient(lab, dir, { insecureRegistries: [lab.a, lab.b] });
    t.after(() => c.close());
    assert.equal((await c.resolveImage(`${lab.b}/test/app:v1`)).credential.kind, 'basic');
  });
  // The registry's TLS port answers plain HTTP with 400; the real ping then finds HTTPS. (A GET: the
  // cache holds no manifest of this repository, so no HEAD goes first.)
  assert.match(lines[0] ?? '', /GET http:\/\/[^ ]+\/manifests\/v1 -> 400/);
  assert.equal(pingLines(lines).length, 1, lines.join(''));
  assert.match(cacheText(dir), /"scheme":"https"/);
});
