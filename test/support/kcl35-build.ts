import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { tryLock } from './build-lock';
import { waitFor } from './wait-for';

/**
 * Builds the Java KCL 3.5.1 test consumer (test/java/kcl35-consumer) with the machine's Maven on first use,
 * into the .kcl cache beside the MultiLangDaemon jars: `.kcl/kcl35-consumer/<hash of the sources>`.
 * Only the suites that run it pay for the build (about 20 s with a warm ~/.m2; Maven fetches the jars from
 * Maven Central the first time). Parallel jest workers build once: the first takes a lock directory, the
 * others wait for the marker; a lock left by a dead process is taken over.
 */
const REPO = join(__dirname, '..', '..');
const SOURCES = join(REPO, 'test', 'java', 'kcl35-consumer');
const CACHE = join(process.env.KCL_JARS_DIR ? join(process.env.KCL_JARS_DIR, '..') : join(REPO, '.kcl'), 'kcl35-consumer');
const MARKER = 'kcl35-consumer.json';

export interface Kcl35Build {
  readonly dir: string;
  /** The java -cp value: the consumer's jar and its runtime dependencies. */
  readonly classpath: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.name !== 'target')
    .flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/** Changes with any source or the pom, so an edited consumer is rebuilt and never run stale. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles(SOURCES)) hash.update(relative(SOURCES, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function built(dir: string): Kcl35Build | undefined {
  if (!existsSync(join(dir, MARKER))) return undefined;
  return { dir, classpath: [join(dir, 'kcl35-consumer.jar'), join(dir, 'lib', '*')].join(':') };
}

async function mavenPackage(buildDir: string): Promise<void> {
  try {
    await promisify(execFile)('mvn', ['-q', '-B', `-DbuildDir=${buildDir}`, 'package'], {
      cwd: SOURCES,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `building the Java KCL 3.5.1 test consumer failed (mvn package in ${SOURCES}; needs JDK 17 and Maven on the PATH, and Maven Central the first time): ${String(error)}\n${stdout ?? ''}${stderr ?? ''}`,
      { cause: error },
    );
  }
}

let building: Promise<Kcl35Build> | undefined;

/** The built consumer, building it when the cache lacks this version of the sources. */
export function kcl35ConsumerBuild(): Promise<Kcl35Build> {
  building ??= (async () => {
    const dir = join(CACHE, sourcesHash());
    const ready = built(dir);
    if (ready) return ready;
    mkdirSync(CACHE, { recursive: true });
    const lock = `${dir}.lock`;
    let locked = false;
    await waitFor(() => built(dir) !== undefined || (locked = tryLock(lock)), 'the Java KCL 3.5.1 consumer build lock', 900_000);
    if (!locked) return built(dir)!;
    try {
      const done = built(dir);
      if (done) return done;
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      await mavenPackage(tmp);
      const jars = readdirSync(join(tmp, 'lib'));
      writeFileSync(join(tmp, MARKER), JSON.stringify({ kcl: '3.5.1', builtAt: new Date().toISOString(), jars }, null, 2));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return built(dir)!;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  })();
  building.catch(() => (building = undefined));
  return building;
}
