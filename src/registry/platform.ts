// Platform parsing, containerd-style normalization and selection from an image index.
// Default is linux/amd64 because that is what genpolicy (and therefore Contrast) assumes.
import { ContrastError } from '../internal/errors.js';
import type { Descriptor, Platform } from './types.js';

export const defaultPlatform: Platform = { os: 'linux', architecture: 'amd64' };

/** Parses `os/arch[/variant]` (for example `linux/arm64`, `linux/arm/v7`). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || /\s/.test(p))) {
    throw new ContrastError(
      `invalid platform "${text}": expected os/architecture[/variant], e.g. linux/arm64`,
      {
        code: 'PLATFORM_INVALID',
      },
    );
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** Normalizes aliases so that equal platforms compare equal (aarch64 ≡ arm64 ≡ arm64/v8, x86_64 ≡ amd64…). */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8') variant = '';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  return variant ? { os, architecture: arch, variant } : { os, architecture: arch };
}

/** True when `candidate` satisfies `wanted` after normalization; an empty wanted variant matches any. */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  return !w.variant || w.variant === (c.variant ?? '');
}

/** BuildKit attestation manifests sit in the index as unknown/unknown (or carry a reference-type annotation). */
export function isAttestation(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return true;
  return d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown';
}

/** Picks the first index entry matching the platform (index order), or throws listing what exists. */
export function selectPlatform(manifests: Descriptor[], wanted: Platform, what: string): Descriptor {
  const candidates = manifests.filter((d) => d.platform && !isAttestation(d));
  const found = candidates.find((d) => d.platform && platformMatches(wanted, d.platform));
  if (found) return found;
  const available = candidates.map((d) => formatPlatform(d.platform as Platform));
  throw new ContrastError(
    `${what} has no image for platform ${formatPlatform(wanted)} (available: ${available.join(', ') || 'none'})`,
    { code: 'PLATFORM_NOT_FOUND', hint: 'choose one of the available platforms with --platform' },
  );
}
