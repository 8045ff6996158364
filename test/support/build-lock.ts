import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
    if (Number.isFinite(holder) && pidAlive(holder)) return false;
    rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
