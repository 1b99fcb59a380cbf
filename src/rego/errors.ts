import { ContrastError } from '../internal/errors.js';

export interface Loc {
  file: string;
  line: number;
  col: number;
}

function fmtLoc(loc: Loc | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : '<unknown>';
}

/** A Rego source text could not be parsed or compiled; the message starts with file:line:col. */
export class RegoParseError extends ContrastError {
  readonly loc: Loc | undefined;
  constructor(message: string, loc?: Loc) {
    super(loc ? `${fmtLoc(loc)}: error: ${message}` : `error: ${message}`, { code: 'REGO_PARSE' });
    this.name = 'RegoParseError';
    this.loc = loc;
  }
}

/** Evaluation failed (conflicting rule outputs, builtin error in strict mode, recursion, ...). */
export class RegoEvalError extends ContrastError {
  readonly loc: Loc | undefined;
  constructor(message: string, loc?: Loc, code = 'REGO_EVAL') {
    super(loc ? `${fmtLoc(loc)}: error: ${message}` : `error: ${message}`, { code });
    this.name = 'RegoEvalError';
    this.loc = loc;
  }
}

/**
 * A resource limit of the engine was reached (steps, time, collection size, call depth, nesting of
 * documents): evaluation stops, whatever the strict-builtin-errors mode (see limits.ts).
 */
export class RegoLimitError extends RegoEvalError {
  constructor(message: string, loc?: Loc) {
    super(message, loc, 'REGO_LIMIT');
    this.name = 'RegoLimitError';
    // without a location the message is the text alone (callers prefix their own context)
    if (!loc) this.message = message;
  }
}

/** Thrown by builtins; turned into "undefined" in non-strict mode, RegoEvalError in strict mode. */
export class BuiltinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinError';
  }
}
