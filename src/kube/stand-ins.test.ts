// Issue 15: parseKubeFile parses long single-line base64 values as short stand-ins and puts them back.
// Every case here is parsed both ways (stand-ins and `standIns: false`, the plain parse) and must give
// the same documents node by node (all fields but the source ranges), the same plain data, the same
// rendering and the same write-back, or the same error; cases the stand-ins cannot serve must fall back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMap, type Document } from 'yaml';
import { ContrastError } from '../internal/errors.js';
import { longValueStandIns } from './yaml.js';
import { documentToJS, parseKubeFile, serializeKubeFile } from './index.js';

const b64 = (n: number, seed: number): string =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)).toString('base64');
const LONG = `H${b64(1500, 1)}`; // starts with a letter, like the gzip+base64 initdata ("H4sI…")
const LONG2 = `A${b64(4100, 2)}`; // like the SNP ID auth ("AQAA…")

/** Every field of every node except `range` (offsets into the text the composer saw). */
function nodeFields(value: unknown, seen = new Set<unknown>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[seen]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => nodeFields(v, seen));
  const out: Record<string, unknown> = { '#class': value.constructor.name };
  for (const [k, v] of Object.entries(value)) {
    if (k === 'range' || k === 'schema' || k === 'directives' || k === 'options') continue;
    out[k] = nodeFields(v, seen);
  }
  return out;
}

function parseBoth(text: string): {
  stood: ReturnType<typeof parseKubeFile>;
  plain: ReturnType<typeof parseKubeFile>;
} {
  return {
    stood: parseKubeFile('in.yaml', text),
    plain: parseKubeFile('in.yaml', text, { standIns: false }),
  };
}

function assertSameParse(text: string): void {
  const { stood, plain } = parseBoth(text);
  assert.equal(stood.docs.length, plain.docs.length);
  stood.docs.forEach((doc, i) => {
    const ref = plain.docs[i] as Document;
    assert.deepEqual(nodeFields(doc.contents), nodeFields(ref.contents), `document ${i}: nodes`);
    assert.deepEqual(documentToJS(doc, 'in.yaml'), documentToJS(ref, 'in.yaml'), `document ${i}: data`);
    assert.equal(doc.toString(), ref.toString(), `document ${i}: rendering`);
  });
  assert.equal(serializeKubeFile(stood), text, 'unchanged file written back as read');
  // An edit to one document: the others are written back from their source, which must be the right slice.
  for (const f of [stood, plain]) {
    const first = f.docs[0]?.contents;
    if (isMap(first)) first.set('edited', 'yes');
  }
  assert.equal(serializeKubeFile(stood), serializeKubeFile(plain), 'edited file');
}

function counted(fn: () => void): { used: number; fellBack: number } {
  const before = { ...longValueStandIns };
  fn();
  return {
    used: longValueStandIns.used - before.used,
    fellBack: longValueStandIns.fellBack - before.fellBack,
  };
}

const POD = (name: string, ...annotations: string[]): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name} # a comment
  annotations:
${annotations.map((a) => `    ${a}`).join('\n')}
spec:
  containers:
    - name: app
      image: nginx
`;

test('stand-ins: several documents with long annotations parse exactly as without them', () => {
  const text = [
    POD('a', `io.katacontainers.config.hypervisor.cc_init_data: ${LONG}`, `x.example/auth: ${LONG2}`),
    POD('b', `x.example/short: abc`),
    `# between\n${POD('c', `io.katacontainers.config.hypervisor.cc_init_data: ${LONG2}`)}`,
  ].join('---\n');
  const n = counted(() => assertSameParse(text));
  assert.equal(n.used, 1, 'the stand-in path was taken');
  assertSameParse(text.replace(/\n/g, '\r\n')); // CRLF: no value qualifies, plain parse
});

test('stand-ins: the same long value twice, in a flow mapping, and at top level', () => {
  const text = `a: ${LONG}\nb: ${LONG}\nc: {x: 1,\n  y: ${LONG2}\n  }\nd:\n  - k: ${LONG}\n`;
  const n = counted(() => assertSameParse(text));
  assert.equal(n.used, 1);
});

test('stand-ins: values the core schema would not read as a plain string are left alone', () => {
  const digits = '1'.repeat(2000);
  const hex = `0x${'a'.repeat(2000)}`;
  const text = `a: ${digits}\nb: ${hex}\nc: ${LONG} # comment\nd: ${LONG} \ne: "${LONG}"\n`;
  const n = counted(() => assertSameParse(text));
  assert.equal(n.used + n.fellBack, 0, 'no line qualifies');
});

test('stand-ins: a qualifying line inside a block scalar or a quoted string falls back to the plain parse', () => {
  const block = `data:\n  config.yaml: |\n    key: ${LONG}\n    other: 1\nnext: ${LONG2}\n`;
  const quoted = `note: "first line\n  key: ${LONG}\n  end"\nnext: ${LONG2}\n`;
  const folded = `data: >\n  key: ${LONG}\nnext: 1\n`;
  for (const text of [block, quoted, folded]) {
    const n = counted(() => assertSameParse(text));
    assert.deepEqual(n, { used: 0, fellBack: 1 }, text.slice(0, 40));
  }
  const data = documentToJS(parseKubeFile('in.yaml', block).docs[0]!, 'in.yaml') as {
    data: Record<string, string>;
  };
  assert.equal(data.data['config.yaml'], `key: ${LONG}\nother: 1\n`);
});

test('stand-ins: a file with an error reports it exactly as the plain parse does', () => {
  const text = `a: ${LONG}\nb: [1, 2\nc: ${LONG2}\n`;
  const message = (standIns: boolean): string => {
    try {
      parseKubeFile('in.yaml', text, { standIns });
    } catch (err) {
      assert.ok(err instanceof ContrastError);
      return err.message;
    }
    return 'no error';
  };
  assert.match(message(false), /^in\.yaml:\d+:\d+: invalid YAML/);
  assert.equal(message(true), message(false));
});

test('stand-ins: a value spelled like the stand-in itself cannot take a long value’s place', () => {
  // The stand-in's name has a random part; a document naming any stand-in-like string keeps it as is.
  const text = `a: contrastStandIn000000000000n0\nb: ${LONG}\n`;
  assertSameParse(text);
});
