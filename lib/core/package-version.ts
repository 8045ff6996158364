import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'nestjs-kinesis-worker';
let cached: string | undefined;

/**
 * This library's version, from its own package.json: the nearest one above this file named
 * nestjs-kinesis-worker (lib/core from source, dist/lib/core once built). Undefined if none is found,
 * e.g. when bundled; callers treat the version as optional. Read once.
 */
export function packageVersion(): string | undefined {
  if (cached !== undefined) return cached || undefined;
  cached = '';
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === 'string') return (cached = manifest.version);
    } catch {
      // No package.json here (or not JSON): look one level up.
    }
    if (dirname(dir) === dir) return undefined;
  }
}
