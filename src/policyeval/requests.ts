// Reads a recorded Kata agent request log. Two line formats are accepted:
//   ["ep":"CreateContainerRequest",{...}],   (the recording format of the agent-request logs)
//   ["CreateContainerRequest", {...}]        (plain JSON lines)
// Blank lines and lines starting with `#` or `//` are skipped. Errors name file and line.
import { ContrastError, errorMessage } from '../internal/errors.js';
import { readOptionInput, readTextInputSync } from '../internal/files.js';

export interface RecordedRequest {
  /** Agent endpoint, e.g. `CreateContainerRequest`; the rule evaluated is `data.agent_policy.<type>`. */
  type: string;
  input: unknown;
  /** 1-based line number in the log. */
  line: number;
}

export function loadRequestLog(file: string): RecordedRequest[] {
  const text = readOptionInput('--replay', file, () => readTextInputSync(file, 'request log'));
  return parseRequestLog(text, file === '-' ? '<stdin>' : file);
}

export function parseRequestLog(text: string, file = '<log>'): RecordedRequest[] {
  const out: RecordedRequest[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('//')) continue;
    const where = `${file}:${i + 1}`;
    if (line.endsWith(',')) line = line.slice(0, -1).trimEnd();
    // `["ep":"X", …]` is not JSON; dropping the `"ep":` label makes it the array `["X", …]`.
    line = line.replace(/^\[\s*"ep"\s*:\s*/, '[');
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new ContrastError(`${where}: not a request line: ${errorMessage(err)}`, {
        hint: 'expected ["<RequestType>", {...}] or ["ep":"<RequestType>",{...}], one per line',
      });
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string') {
      throw new ContrastError(`${where}: expected a two-element array [<RequestType>, <request>]`);
    }
    const type = parsed[0];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(type)) {
      throw new ContrastError(`${where}: "${type}" is not a request type name`);
    }
    out.push({ type, input: parsed[1], line: i + 1 });
  }
  if (out.length === 0) throw new ContrastError(`${file}: no requests in the log`);
  return out;
}
