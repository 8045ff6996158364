import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { KinesisWorkerConfigError } from '../../core/errors';

/**
 * The npm package aws-kcl is an optional peer dependency: only the 'kcl' engine needs it, so it is
 * loaded here, lazily, and never from a module's top level. A missing or unsupported aws-kcl is a
 * config error on `engine` that says what to install.
 */

/** The aws-kcl version this engine is written for: it drives aws-kcl's internals (see shard-session). */
export const AWS_KCL_VERSION = '2.3.2';
/** The range package.json's peerDependencies gives: same major and minor, this patch or later. */
export const AWS_KCL_RANGE = `~${AWS_KCL_VERSION}`;

export interface AwsKclResolveOptions {
  /**
   * Where to look for aws-kcl, as `require.resolve`'s `paths` (each directory and its ancestors'
   * node_modules). Default: from this library's own location, which finds a peer dependency installed
   * next to it.
   */
  readonly paths?: readonly string[];
}

export interface AwsKclPackage {
  /** The package directory: where its package.json and pom.xml are. */
  readonly dir: string;
  readonly version: string;
  /** The Maven pom.xml that lists the Java KCL jars. */
  readonly pom: string;
}

/** Whether `version` is in AWS_KCL_RANGE (~2.3.2: 2.3.x with x >= 2). */
export function isSupportedAwsKclVersion(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
  if (!match) return false;
  const [wantMajor, wantMinor, wantPatch] = AWS_KCL_VERSION.split('.').map(Number);
  return Number(match[1]) === wantMajor && Number(match[2]) === wantMinor && Number(match[3]) >= wantPatch;
}

/** The package root of this library (where scripts/ is), from sources or from dist/. */
export function libraryRoot(): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'nestjs-kinesis-worker') return dir;
      } catch {
        // not ours
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The command that provisions the Java KCL jars, as a user would type it from the current directory. */
export function provisionJarsCommand(): string {
  const root = libraryRoot();
  if (!root) return 'node node_modules/nestjs-kinesis-worker/scripts/provision-kcl-jars.js';
  const script = join(root, 'scripts', 'provision-kcl-jars.js');
  const fromCwd = relative(process.cwd(), script);
  return `node ${fromCwd && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : script}`;
}

function installHint(): string {
  return `Install it with: npm install aws-kcl@${AWS_KCL_VERSION}, then provision the Java KCL jars once with: ${provisionJarsCommand()}`;
}

function missing(detail: string): KinesisWorkerConfigError {
  return new KinesisWorkerConfigError(
    'engine',
    `engine: 'kcl' needs the npm package aws-kcl (${AWS_KCL_RANGE}), an optional peer dependency of nestjs-kinesis-worker, and ${detail}. ${installHint()}. The default engine, 'native', needs neither.`,
  );
}

function requireResolve(request: string, options: AwsKclResolveOptions | undefined): string {
  return options?.paths ? require.resolve(request, { paths: [...options.paths] }) : require.resolve(request);
}

/**
 * Finds the installed aws-kcl package (for its version and pom.xml) without loading it.
 * Throws a KinesisWorkerConfigError on `engine` when it is missing or not a supported version.
 */
export function awsKclPackage(options?: AwsKclResolveOptions): AwsKclPackage {
  let manifest: string;
  try {
    manifest = requireResolve('aws-kcl/package.json', options);
  } catch {
    const where = options?.paths ? ` from ${options.paths.map((path) => resolve(path)).join(', ')}` : '';
    throw missing(`it cannot be found${where}`);
  }
  const dir = dirname(manifest);
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
  } catch (error) {
    throw missing(`${manifest} is unreadable (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof version !== 'string' || !isSupportedAwsKclVersion(version)) {
    throw new KinesisWorkerConfigError(
      'engine',
      `engine: 'kcl' is written for aws-kcl ${AWS_KCL_RANGE}, but aws-kcl ${String(version)} is installed in ${dir}. ${installHint()}.`,
    );
  }
  return { dir, version, pom: join(dir, 'pom.xml') };
}

/**
 * Loads aws-kcl: call it where the 'kcl' engine needs the module, never at a module's top level, so that
 * the 'native' engine and the Nest module load without it. Throws a KinesisWorkerConfigError on
 * `engine` that names the install command when aws-kcl is missing, unsupported or broken.
 * `T` is the shape the caller uses (aws-kcl ships no type declarations).
 */
export function loadAwsKcl<T = unknown>(options?: AwsKclResolveOptions): T {
  const found = awsKclPackage(options);
  let entry: string;
  try {
    entry = requireResolve(found.dir, undefined);
  } catch (error) {
    throw missing(`the package in ${found.dir} has no entry point (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(entry) as T;
  } catch (error) {
    throw missing(`the package in ${found.dir} fails to load (${error instanceof Error ? error.message : String(error)}); reinstall it`);
  }
}
