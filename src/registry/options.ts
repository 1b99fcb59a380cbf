// Command-line flags shared by every command that talks to registries, mapped to client options.
// Kept here (not in src/cli) so `generate`, `image analyze` and others build the same client.
import type { RegistryClientOptions } from './client.js';
import { ContrastError } from '../internal/errors.js';
import { parsePlatform } from './platform.js';

export interface RegistryFlags {
  authfile?: string;
  caFile?: string;
  certDir?: string;
  insecureRegistry?: string[];
  registriesConf?: string;
  platform?: string;
  /** KiB/s, as typed on the command line. */
  minBlobThroughput?: string;
  /** Seconds, as typed on the command line. */
  requestDeadline?: string;
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ContrastError(`${flag}: expected a positive number, got "${value}"`, { code: 'USAGE' });
  }
  return n;
}

/**
 * Client options from CLI flags and the environment. `CONTRAST_INSECURE_REGISTRIES` (comma-separated
 * host[:port]) adds insecure registries; CONTAINERS_REGISTRIES_CONF, NODE_EXTRA_CA_CERTS and the proxy
 * variables are read by the client itself.
 */
export function clientOptionsFromFlags(
  flags: RegistryFlags,
  env: NodeJS.ProcessEnv = process.env,
): RegistryClientOptions {
  const insecure = [
    ...(flags.insecureRegistry ?? []),
    ...(env['CONTRAST_INSECURE_REGISTRIES'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
  return {
    env,
    credentials: { env, ...(flags.authfile ? { authFile: flags.authfile } : {}) },
    ...(flags.caFile ? { caFile: flags.caFile } : {}),
    ...(flags.certDir ? { certDir: flags.certDir } : {}),
    ...(insecure.length ? { insecureRegistries: insecure } : {}),
    ...(flags.registriesConf ? { registriesConf: flags.registriesConf } : {}),
    ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
    deadlines: {
      ...(flags.minBlobThroughput !== undefined
        ? { minBlobBytesPerSecond: positiveNumber('--min-blob-throughput', flags.minBlobThroughput) * 1024 }
        : {}),
      ...(flags.requestDeadline !== undefined
        ? { requestMs: positiveNumber('--request-deadline', flags.requestDeadline) * 1000 }
        : {}),
    },
  };
}
