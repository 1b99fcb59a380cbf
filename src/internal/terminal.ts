// Text from a server or a file (registry error messages, image config values, user names from a layer,
// Rego print output) must not drive the terminal: an ESC sequence could erase lines and draw a fake
// "✔ done", a CR could overwrite a warning, a bidi override could reorder what the user reads. Every
// such character is shown as a visible escape instead (`\x1b`, `\r`, `\u202e`).

// C0 controls except TAB and LF, DEL, C1 controls, and the Unicode bidi embeddings/overrides/isolates
// and marks that reorder or hide text.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const unsafeMultiline = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above
const unsafeSingleLine = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every terminal control character made visible. `multiline` keeps LF and TAB (for our
 * own multi-line output); without it, a server's message cannot start a line of its own either.
 */
export function terminalSafe(text: string, options: { multiline?: boolean } = {}): string {
  return text.replace(options.multiline ? unsafeMultiline : unsafeSingleLine, visible);
}
