// Where a workspace records its release; kept apart from record.ts so that `contrast --version` can
// look for the file without loading the release parser (YAML) when there is none.
import { join } from 'node:path';

export const RECORD_FILE = 'contrast-release.json';

export function recordPath(workspaceDir: string | undefined): string {
  return join(workspaceDir ?? '.', RECORD_FILE);
}
