import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  familiarName,
  familiarReference,
  formatReference,
  InvalidReferenceError,
  manifestReference,
  parseReference,
  repositoryName,
  type Reference,
} from './index.js';
import { ContrastError } from '../internal/errors.js';

const hex64 = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';
const sha = `sha256:${hex64}`;
const sha512 = `sha512:${'f'.repeat(128)}`;

// Cases from distribution/reference's reference_test.go and normalize_test.go (behaviour, restated),
// expressed through ParseNormalizedNamed + TagNameOnly, which is what `docker pull` does.
const valid: Array<[string, Reference, string?]> = [
  ['test_com', { domain: 'docker.io', path: 'library/test_com', tag: 'latest' }, 'test_com:latest'],
  ['test.com:tag', { domain: 'docker.io', path: 'library/test.com', tag: 'tag' }],
  ['test.com:5000', { domain: 'docker.io', path: 'library/test.com', tag: '5000' }],
  ['test.com/repo:tag', { domain: 'test.com', path: 'repo', tag: 'tag' }],
  ['test:5000/repo', { domain: 'test:5000', path: 'repo', tag: 'latest' }],
  ['test:5000/repo:tag', { domain: 'test:5000', path: 'repo', tag: 'tag' }],
  [`test:5000/repo@${sha}`, { domain: 'test:5000', path: 'repo', digest: sha }],
  [`test:5000/repo:tag@${sha}`, { domain: 'test:5000', path: 'repo', tag: 'tag', digest: sha }],
  ['lowercase:Uppercase', { domain: 'docker.io', path: 'library/lowercase', tag: 'Uppercase' }],
  ['sub-dom1.foo.com/bar/baz/quux', { domain: 'sub-dom1.foo.com', path: 'bar/baz/quux', tag: 'latest' }],
  [
    'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
    { domain: 'sub-dom1.foo.com', path: 'bar/baz/quux', tag: 'some-long-tag' },
  ],
  [
    'b.gcr.io/test.example.com/my-app:test.example.com',
    { domain: 'b.gcr.io', path: 'test.example.com/my-app', tag: 'test.example.com' },
  ],
  ['xn--n3h.com/myimage:xn--n3h.com', { domain: 'xn--n3h.com', path: 'myimage', tag: 'xn--n3h.com' }],
  [
    `xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`,
    { domain: 'xn--7o8h.com', path: 'myimage', tag: 'xn--7o8h.com', digest: sha512 },
  ],
  ['foo_bar.com:8080', { domain: 'docker.io', path: 'library/foo_bar.com', tag: '8080' }],
  ['foo/foo_bar.com:8080', { domain: 'docker.io', path: 'foo/foo_bar.com', tag: '8080' }],
  ['192.168.1.1/repo', { domain: '192.168.1.1', path: 'repo', tag: 'latest' }],
  ['192.168.1.1:5000/repo', { domain: '192.168.1.1:5000', path: 'repo', tag: 'latest' }],
  ['[2001:db8::1]/repo', { domain: '[2001:db8::1]', path: 'repo', tag: 'latest' }],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', { domain: '[2001:db8:1:2:3:4:5:6]', path: 'repo', tag: 'tag' }],
  ['[2001:db8::1]:5000/repo', { domain: '[2001:db8::1]:5000', path: 'repo', tag: 'latest' }],
  ['[2001:db8::1]:5000/repo:tag', { domain: '[2001:db8::1]:5000', path: 'repo', tag: 'tag' }],
  [`[2001:db8::1]:5000/repo@${sha}`, { domain: '[2001:db8::1]:5000', path: 'repo', digest: sha }],
  [
    `[2001:db8::1]:5000/repo:tag@${sha}`,
    { domain: '[2001:db8::1]:5000', path: 'repo', tag: 'tag', digest: sha },
  ],
  ['[2001:db8::]:5000/repo', { domain: '[2001:db8::]:5000', path: 'repo', tag: 'latest' }],
  ['[::1]:5000/repo', { domain: '[::1]:5000', path: 'repo', tag: 'latest' }],
  ['localhost/foo', { domain: 'localhost', path: 'foo', tag: 'latest' }],
  ['localhost:5000/foo/bar', { domain: 'localhost:5000', path: 'foo/bar', tag: 'latest' }],
  ['Foo/bar', { domain: 'Foo', path: 'bar', tag: 'latest' }],
  ['nginx', { domain: 'docker.io', path: 'library/nginx', tag: 'latest' }, 'nginx:latest'],
  ['docker.io/ubuntu', { domain: 'docker.io', path: 'library/ubuntu', tag: 'latest' }, 'ubuntu:latest'],
  [
    'docker.io/library/ubuntu',
    { domain: 'docker.io', path: 'library/ubuntu', tag: 'latest' },
    'ubuntu:latest',
  ],
  ['index.docker.io/ubuntu', { domain: 'docker.io', path: 'library/ubuntu', tag: 'latest' }, 'ubuntu:latest'],
  [
    'index.docker.io/library/ubuntu:22.04',
    { domain: 'docker.io', path: 'library/ubuntu', tag: '22.04' },
    'ubuntu:22.04',
  ],
  ['docker.io/foo/bar', { domain: 'docker.io', path: 'foo/bar', tag: 'latest' }, 'foo/bar:latest'],
  [
    'library/foo/bar',
    { domain: 'docker.io', path: 'library/foo/bar', tag: 'latest' },
    'library/foo/bar:latest',
  ],
  [`nginx@${sha}`, { domain: 'docker.io', path: 'library/nginx', digest: sha }, `nginx@${sha}`],
  [
    `nginx:1.27@${sha}`,
    { domain: 'docker.io', path: 'library/nginx', tag: '1.27', digest: sha },
    `nginx:1.27@${sha}`,
  ],
  [
    `docker.io/${'1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a'}`,
    {
      domain: 'docker.io',
      path: 'library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
      tag: 'latest',
    },
  ],
  ['a__b/c--d/e.f_g', { domain: 'docker.io', path: 'a__b/c--d/e.f_g', tag: 'latest' }],
  [
    `sha512host.io/r@sha384:${'a'.repeat(96)}`,
    { domain: 'sha512host.io', path: 'r', digest: `sha384:${'a'.repeat(96)}` },
  ],
  [
    '127.0.0.1:5001/test/app:v1',
    { domain: '127.0.0.1:5001', path: 'test/app', tag: 'v1' },
    '127.0.0.1:5001/test/app:v1',
  ],
  [`a:${'t'.repeat(128)}`, { domain: 'docker.io', path: 'library/a', tag: 't'.repeat(128) }],
  // 255 characters of `domain/path` is the limit.
  [`x.io/${'a/'.repeat(124)}ab`, { domain: 'x.io', path: `${'a/'.repeat(124)}ab`, tag: 'latest' }],
];

const invalid: Array<[string, RegExp]> = [
  ['', /at least one component/],
  [':justtag', /repository name is missing/],
  [`@${sha}`, /repository name is missing/],
  [`repo@sha256:${'f'.repeat(63)}`, /64 lowercase hex/],
  [`repo@sha256:${'f'.repeat(62)}gg`, /algorithm:hex/],
  [`repo@sha256:${'F'.repeat(64)}`, /lowercase hex/],
  [`validname@invaliddigest:${hex64}`, /not supported/],
  [`repo@md5:${'f'.repeat(32)}`, /not supported/],
  ['Uppercase:tag', /must be lowercase/],
  ['test:5000/Uppercase/lowercase:tag', /must be lowercase/],
  [`${'a/'.repeat(128)}a:tag`, /at most 255/],
  [`x.io/${'a/'.repeat(124)}abc`, /x\.io\/a.* is 256 characters long; at most 255/],
  ['aa/asdf$$^/aa', /component "asdf\$\$\^"/],
  ['[fe80::1%eth0]:5000/repo', /IPv6/],
  ['[2001:db8:3:4::192.0.2.33]:5000/repo', /IPv6/],
  ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', /image ID/],
  ['foo:', /tag "" is not valid/],
  ['foo:-bar', /tag "-bar"/],
  [`foo:${'t'.repeat(129)}`, /at most 128/],
  ['foo@', /algorithm:hex/],
  ['foo/', /empty component/],
  ['foo//bar', /empty component/],
  ['host:port/repo', /port "port"/],
  ['-host.io/repo', /not a valid domain/],
  ['host-.io/repo', /not a valid domain/],
  ['ho_st.io/repo', /not a valid domain/],
  ['foo:bar:baz', /not valid/],
  ['a/b:c/d', /not valid/],
  ['foo_/bar', /component "foo_"/],
  ['foo..bar', /component/],
  ['foo___bar', /component/],
  ['[::1]x/repo', /host\[:port\]/],
  ['a@b@c', /algorithm:hex/],
  [' nginx', /component/],
];

describe('parseReference (distribution/reference cases)', () => {
  for (const [input, expected, familiar] of valid) {
    it(`accepts ${input.length > 60 ? input.slice(0, 60) + '…' : input}`, () => {
      const ref = parseReference(input);
      assert.deepEqual(ref, expected);
      if (familiar !== undefined) assert.equal(familiarReference(ref), familiar);
      assert.deepEqual(parseReference(formatReference(ref)), ref);
      assert.deepEqual(parseReference(familiarReference(ref)), ref);
    });
  }
  for (const [input, problem] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 60 ? input.slice(0, 60) + '…' : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          assert.ok(err instanceof InvalidReferenceError);
          assert.ok(err instanceof ContrastError);
          assert.equal(err.input, input);
          assert.ok(err.message.includes(JSON.stringify(input)), err.message);
          assert.match(err.message, problem);
          return true;
        },
      );
    });
  }
});

describe('formatting', () => {
  it('formats full, repository and familiar forms', () => {
    const ref = parseReference(`ghcr.io/org/app:1@${sha}`);
    assert.equal(formatReference(ref), `ghcr.io/org/app:1@${sha}`);
    assert.equal(repositoryName(ref), 'ghcr.io/org/app');
    assert.equal(familiarName(ref), 'ghcr.io/org/app');
    assert.equal(manifestReference(ref), sha);
    assert.equal(formatReference(parseReference('nginx')), 'docker.io/library/nginx:latest');
    assert.equal(manifestReference(parseReference('nginx')), 'latest');
  });
});

// Generators for the grammar in registry-protocol.md §10.
const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--');
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
  .map(([head, tail]) => head + tail.map(([s, a]) => s + a).join(''));
const label = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,5}[a-zA-Z0-9])?$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
const ipv6 = fc
  .ipV6()
  .filter((a) => !a.includes('.'))
  .map((a) => `[${a}]`);
const port = fc.integer({ min: 1, max: 65535 }).map(String);
const domainWithMarker = fc.oneof(
  fc.tuple(hostName, label).map(([h, l]) => `${h}.${l}`), // has a dot
  fc.tuple(hostName, port).map(([h, p]) => `${h}:${p}`), // has a port
  fc.tuple(ipv6, fc.option(port)).map(([h, p]) => (p === null ? h : `${h}:${p}`)),
  fc.constant('localhost'),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);
const path = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((c) => c.join('/'));

describe('parseReference (properties)', () => {
  it('parses domain/path[:tag][@digest] into its parts and round-trips', () => {
    fc.assert(
      fc.property(domainWithMarker, path, fc.option(tag), fc.option(digest), (d, p, t, g) => {
        const input = `${d}/${p}${t === null ? '' : `:${t}`}${g === null ? '' : `@${g}`}`;
        fc.pre(`${d}/${p}`.length <= 255);
        const ref = parseReference(input);
        assert.equal(ref.domain, d === 'index.docker.io' ? 'docker.io' : d);
        assert.equal(ref.digest, g ?? undefined);
        assert.equal(ref.tag, t ?? (g === null ? 'latest' : undefined));
        assert.deepEqual(parseReference(formatReference(ref)), ref);
        assert.deepEqual(parseReference(familiarReference(ref)), ref);
        assert.equal(formatReference(ref).startsWith(repositoryName(ref)), true);
      }),
    );
  });

  it('puts names without a registry-like first component on Docker Hub, official images under library/', () => {
    fc.assert(
      fc.property(path, fc.option(tag), (p, t) => {
        const first = p.split('/')[0] ?? '';
        fc.pre(!first.includes('.') || !p.includes('/')); // a dotted first component is a registry
        const ref = parseReference(`${p}${t === null ? '' : `:${t}`}`);
        assert.equal(ref.domain, 'docker.io');
        assert.equal(ref.path, p.includes('/') ? p : `library/${p}`);
        assert.equal(familiarName(ref), p);
      }),
    );
  });

  it('never throws anything but InvalidReferenceError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const ref = parseReference(s);
          assert.deepEqual(parseReference(formatReference(ref)), ref);
        } catch (err) {
          assert.ok(err instanceof InvalidReferenceError, String(err));
        }
      }),
    );
  });

  it('rejects any uppercase letter in the repository path', () => {
    fc.assert(
      fc.property(path, fc.nat(), (p, i) => {
        const at = i % p.length;
        const ch = p[at] ?? 'a';
        fc.pre(/[a-z]/.test(ch));
        const upper = p.slice(0, at) + ch.toUpperCase() + p.slice(at + 1);
        assert.throws(() => parseReference(`registry.io/${upper}`), /must be lowercase/);
      }),
    );
  });
});
