// Reading a secret from the terminal without echo, as `docker login` and `podman login` do: the
// terminal goes into raw mode (no echo, no line editing), we take characters up to Enter, handle
// backspace, and give up on Ctrl-C / Ctrl-D. Nothing typed is ever written back.
import { ContrastError } from '../internal/errors.js';

export interface PromptInput extends NodeJS.EventEmitter {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
}

export function readHiddenLine(
  prompt: string,
  input: PromptInput = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  if (!input.isTTY || !input.setRawMode) {
    return Promise.reject(
      new ContrastError('cannot prompt for the password: standard input is not a terminal'),
    );
  }
  const setRaw = input.setRawMode.bind(input);
  // Echo off before the prompt appears, so nothing typed after it can be echoed.
  setRaw(true);
  output.write(prompt);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error): void => {
      input.off('data', onData);
      setRaw(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new ContrastError('login cancelled'));
        if (ch === '\u0004') {
          if (value === '') return finish(new ContrastError('login cancelled: no password entered'));
          return finish();
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}
