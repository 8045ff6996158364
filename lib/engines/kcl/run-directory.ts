import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinesisWorkerConfigError, KinesisWorkerError } from '../../core/errors';

/** The environment variable that tells a relay where the worker's socket is. */
export const SOCKET_ENV = 'NESTJS_KINESIS_KCL_SOCKET';
const RELAY_SOURCE = join(__dirname, 'relay.js');
const RUN_DIR_PREFIX = 'nkw-kcl-';
const OWNER_FILE = 'owner.pid';

/**
 * The directory of one kcl worker run: the socket the relays connect to, the relay itself, logback.xml
 * and the properties file. Every process of the run names it in its command line (diagnostics, and the
 * tests' orphan checks). It holds the worker's pid, so that a later run can remove the directories of
 * workers that were killed before they could clean up.
 */
export class RunDirectory {
  readonly socketPath: string;
  /** The daemon's executableName: node and the relay, no path with a space (it splits on spaces, runs no shell). */
  readonly relayCommand: string;

  private constructor(readonly path: string) {
    this.socketPath = join(path, 'relay.sock');
    if (Buffer.byteLength(this.socketPath) > 100) {
      throw new KinesisWorkerConfigError(
        'kcl',
        `the socket path ${this.socketPath} is too long for a Unix socket; set TMPDIR to a shorter directory.`,
      );
    }
    if (/\s/.test(path))
      throw new KinesisWorkerConfigError('kcl', `the temporary directory ${path} contains a space; set TMPDIR to one without.`);
    if (!existsSync(RELAY_SOURCE)) {
      throw new KinesisWorkerError(
        `${RELAY_SOURCE} is missing: the package build must ship lib/engines/kcl/relay.js next to run-directory.js (allowJs in tsconfig.build.json).`,
      );
    }
    const relay = join(path, 'relay.js');
    copyFileSync(RELAY_SOURCE, relay);
    let node = process.execPath;
    if (/\s/.test(node)) {
      node = join(path, 'node');
      symlinkSync(process.execPath, node);
    }
    this.relayCommand = `${node} ${relay}`;
  }

  /** A new run directory under the temporary directory; the leftovers of dead workers are removed first. */
  static create(): RunDirectory {
    removeStaleRunDirs();
    const path = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
    writeFileSync(join(path, OWNER_FILE), String(process.pid));
    try {
      return new RunDirectory(path);
    } catch (error) {
      rmSync(path, { recursive: true, force: true });
      throw error;
    }
  }

  /** Writes a file of the run; returns its path. */
  write(name: string, content: string, mode?: number): string {
    const file = join(this.path, name);
    writeFileSync(file, content, mode === undefined ? undefined : { mode });
    return file;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * Run directories of workers whose process is gone (killed: it could not clean up; its watchdog has
 * ended the JVM). A directory whose owner pid is alive, or unknown, is left alone.
 */
function removeStaleRunDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((name) => name.startsWith(RUN_DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
      if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours to judge
    }
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
