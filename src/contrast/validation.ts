// Validation findings with the JSON path they concern, so a user can find the field in manifest.json
// (`ReferenceValues.snp[0].MinimumTCB.BootloaderVersion: field cannot be empty`).

export interface ValidationIssue {
  path: string;
  message: string;
  /**
   * A value the release cannot know and the user is expected to fill in (Contrast's
   * ExpectedMissingReferenceValueError): a warning, not an error.
   */
  expectedMissing: boolean;
}

export function issue(path: string, message: string, expectedMissing = false): ValidationIssue {
  return { path, message, expectedMissing };
}

export function formatIssue(i: ValidationIssue): string {
  return i.path ? `${i.path}: ${i.message}` : i.message;
}

export function isHex(value: string): boolean {
  return value.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(value);
}

/** Checks a hex-encoded byte string of exactly `size` bytes; undefined when fine. */
export function hexProblem(value: unknown, size: number): string | undefined {
  if (value === undefined || value === null || value === '') return 'field cannot be empty';
  if (typeof value !== 'string') return `expected a hex string, got ${typeName(value)}`;
  if (!isHex(value)) return `"${value}" is not valid hex`;
  if (value.length !== size * 2)
    return `expected ${size} bytes (${size * 2} hex characters), got ${value.length / 2} bytes`;
  return undefined;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
