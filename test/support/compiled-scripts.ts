import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tryLock } from './build-lock';

/**
 * The child processes of the e2e suites (worker fleets, the CLI, the Nest apps...) run the TypeScript
 * sources compiled once per state of the sources, with plain node. Under ts-node each child loaded the
 * TypeScript compiler and transpiled the library again: about a second of CPU per child (measured: a
 * child requiring lib/standalone took 0.7 s of CPU under ts-node, 0.07 s compiled), and a full run starts
 * a few hundred children on a 2-core machine whose CPU is the limit of `npm test`.
 *
 * The build is `tsc --noCheck` (emit only: `npm test` type-checks the same files first) of lib/, sample/,
 * scripts/ and test/support/ into node_modules/.cache/nkw-test-build/<hash of those sources>, so that the
 * children resolve this repository's node_modules and a changed source is never run stale. Parallel jest
 * workers build once: the first takes a lock directory, the others wait for the finished build (renamed
 * into place, so a directory that exists is complete). A lock left by a dead process is taken over.
 */
const REPO = join(__dirname, '..', '..');
const COMPILED = ['lib', 'sample', 'scripts', join('test', 'support')];
const CACHE = join(REPO, 'node_modules', '.cache', 'nkw-test-build');
const CONFIG = join(REPO, 'test', 'tsconfig.children.json');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : /\.(ts|js|json)$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

let memo: string | undefined;
function buildDir(): string {
  if (memo) return memo;
  const hash = createHash('sha256');
  // npm's record of the installed tree: the decorator metadata tsc emits can depend on the installed types
  // (CI swaps Nest 11 for Nest 12 with npm install --no-save).
  const installed = join(REPO, 'node_modules', '.package-lock.json');
  const inputs = [...COMPILED.flatMap((dir) => sourceFiles(join(REPO, dir))), join(REPO, 'tsconfig.json'), CONFIG];
  for (const file of [...inputs, ...(existsSync(installed) ? [installed] : [])].sort())
    hash.update(relative(REPO, file)).update('\0').update(readFileSync(file)).update('\0');
  return (memo = join(CACHE, hash.digest('hex').slice(0, 16)));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Synchronous, since WorkerFleet.start() and the CLI helper are: a jest worker waits here once per run. */
function ensureBuilt(): string {
  const dir = buildDir();
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 180_000;
  mkdirSync(CACHE, { recursive: true });
  while (!existsSync(dir)) {
    if (tryLock(lock)) {
      try {
        if (!existsSync(dir)) build(dir);
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      break;
    }
    if (Date.now() > deadline) throw new Error(`the compiled test scripts: ${lock} is still held after 180 s`);
    Atomics.wait(sleeper, 0, 0, 200);
  }
  return dir;
}

function build(dir: string): void {
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', CONFIG, '--outDir', partial], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  // The CLI and the package-version lookup read package.json beside the compiled tree, as in dist/.
  copyFileSync(join(REPO, 'package.json'), join(partial, 'package.json'));
  renameSync(partial, dir);
  // Builds of older source states are left by earlier runs: keep the cache to the newest few.
  const others = readdirSync(CACHE)
    .filter((name) => /^[0-9a-f]{16}$/.test(name) && join(CACHE, name) !== dir)
    .map((name) => ({ path: join(CACHE, name), at: statSync(join(CACHE, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of others.slice(3)) rmSync(old.path, { recursive: true, force: true });
}

/** The compiled .js of a .ts file under lib/, sample/, scripts/ or test/support/. */
export function compiledScript(tsFile: string): string {
  const path = relative(REPO, tsFile);
  if (!COMPILED.some((dir) => path.startsWith(`${dir}/`)))
    throw new Error(`compiledScript: ${path} is not under ${COMPILED.join(', ')} (test/tsconfig.children.json)`);
  return join(ensureBuilt(), path.replace(/\.ts$/, '.js'));
}

/** `node` arguments that run a .ts script compiled, with stack traces mapped back to the .ts sources. */
export function nodeScriptArgs(tsFile: string): string[] {
  return ['--enable-source-maps', compiledScript(tsFile)];
}
