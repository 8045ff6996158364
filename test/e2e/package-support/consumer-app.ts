import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tryLock } from '../../support/build-lock';
import { waitFor } from '../../support/wait-for';

/**
 * What the package suites share: the packed tarball (built once per jest run), a child npm/node that
 * runs in a consumer app without this repository's npm settings, and readers of npm's JSON.
 */
export const ROOT = resolve(__dirname, '../../..');
export interface Manifest {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}
export const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The child npm must not inherit the settings that `npm test` passes to its scripts (npm_lifecycle_*,
 * npm_package_*, npm_config_local_prefix, ...), or it may act on this repo instead of the app.
 * Registry, cache and proxy settings are kept.
 */
const KEPT_NPM_CONFIG = /^npm_config_(cache|registry|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|ca)$/i;
const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) || KEPT_NPM_CONFIG.test(name)),
);
childEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export function run(command: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(command, args, { cwd, env: childEnv, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function ok(result: Run, what: string): string {
  if (result.code !== 0)
    throw new Error(`${what} exited with ${result.code}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

/** npm prints lifecycle output before the JSON on some versions: the JSON is the last top-level value. */
export function lastJson<T>(stdout: string): T {
  const start = Math.max(stdout.lastIndexOf('\n[\n'), stdout.lastIndexOf('\n{\n'));
  return JSON.parse(start >= 0 ? stdout.slice(start + 1) : stdout) as T;
}

export interface LsNode {
  version?: string;
  dependencies?: Record<string, LsNode>;
}

/** Every version of every package in an `npm ls --json` tree. */
export function versionsByName(tree: LsNode): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const walk = (node: LsNode) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (child.version) found.set(name, (found.get(name) ?? new Set()).add(child.version));
      walk(child);
    }
  };
  walk(tree);
  return found;
}

/** `npm install` in a consumer app, from the local npm cache where it can. */
export async function npmInstall(appDir: string, args: readonly string[] = [], timeoutMs = 240_000): Promise<void> {
  ok(
    await run('npm', ['install', ...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], appDir, timeoutMs),
    `npm install ${args.join(' ')} in ${appDir}`,
  );
}

/** A consumer app: a folder with this package.json. */
export function consumerApp(dir: string, packageJson: object): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.0.0', private: true, ...packageJson }, null, 2));
  return dir;
}

export interface Packed {
  /** The .tgz path. */
  readonly tarball: string;
  /** Every path in the tarball, sorted. */
  readonly files: readonly string[];
}

/**
 * `npm pack` of this repository, once per jest run for every package suite: its prepack step rebuilds
 * dist/, which two suites packing side by side would race on. The first suite takes the lock and packs
 * into the run's folder (TEST_RUN_ROOT, global-setup.ts); the others wait for its pack.json.
 */
export async function packedPackage(): Promise<Packed> {
  const dir = join(process.env.TEST_RUN_ROOT ?? tmpdir(), 'packed');
  const marker = join(dir, 'pack.json');
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'lock');
  let locked = false;
  await waitFor(() => existsSync(marker) || (locked = tryLock(lock)), 'the packed tarball of another suite', 300_000);
  if (locked) {
    try {
      if (!existsSync(marker)) {
        // prepack runs `npm run build` (a clean tsc -p tsconfig.build.json) before packing.
        const pack = lastJson<{ filename: string; files: { path: string }[] }[]>(
          ok(await run('npm', ['pack', '--json', '--pack-destination', dir], ROOT, 240_000), 'npm pack'),
        );
        const packed: Packed = { tarball: join(dir, pack[0].filename), files: pack[0].files.map((file) => file.path).sort() };
        writeFileSync(marker, JSON.stringify(packed));
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return JSON.parse(readFileSync(marker, 'utf8')) as Packed;
}
