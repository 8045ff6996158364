import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../lib/engines/kcl/run-directory';

/**
 * The lock of the builds that parallel jest workers share (the Java test consumer, the compiled test
 * scripts, the packed tarball): a directory, atomic to create, holding its owner's pid. A lock whose
 * owner died is removed, and the caller tries again.
 */
export function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    let holder = NaN;
    try {
      holder = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // The holder has created the directory but not yet written its pid: give it a moment.
      if (Date.now() - statSync(lock).mtimeMs < 10_000) return false;
    }
    if (Number.isFinite(holder) && processAlive(holder)) return false;
    rmSync(lock, { recursive: true, force: true });
    return false;
  }
}
