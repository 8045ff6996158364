/**
 * The import rules of lib/ (issue 8), read from the sources: every import, export-from, require() and
 * import() specifier of every file under lib/. A broken rule fails with the offending file and import.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const LIB = resolve(__dirname, '..', '..', 'lib');

type Layer = 'core' | 'leases' | 'native' | 'kcl' | 'create-worker' | 'standalone' | 'nest' | 'testing' | 'testing-nest' | 'cli';

/** Which layer a file under lib/ belongs to, from its path relative to lib/ ('/'-separated). */
function layerOf(path: string): Layer {
  if (path.startsWith('core/')) return 'core';
  if (path.startsWith('leases/')) return 'leases';
  if (path.startsWith('engines/native/')) return 'native';
  if (path.startsWith('engines/kcl/')) return 'kcl';
  if (path.startsWith('testing/nest/')) return 'testing-nest';
  if (path.startsWith('testing/')) return 'testing';
  if (path.startsWith('cli/')) return 'cli';
  if (path === 'create-worker.ts') return 'create-worker';
  if (path === 'standalone.ts') return 'standalone';
  if (path.startsWith('decorators/') || path.startsWith('health/') || !path.includes('/')) return 'nest';
  throw new Error(`lib/${path} belongs to no layer: place it in one, or teach architecture.spec.ts the new layer.`);
}

/** The layers of lib/ each layer may import (every layer may import itself). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  core: ['core'],
  leases: ['core', 'leases'],
  native: ['core', 'leases', 'native'],
  kcl: ['core', 'leases', 'kcl'],
  'create-worker': ['core', 'leases', 'native', 'kcl'],
  // The framework-free entry (nestjs-kinesis-worker/standalone): the contract and createWorker, nothing of Nest.
  standalone: ['core', 'create-worker', 'standalone'],
  // The Nest layer reaches the engines only through createWorker (the package root re-exports the standalone entry).
  nest: ['core', 'leases', 'create-worker', 'standalone', 'nest'],
  // Nest-free (nestjs-kinesis-worker/testing): standalone users and apps without @nestjs installed load it.
  testing: ['core', 'testing'],
  // The Nest testing module (nestjs-kinesis-worker/testing/nest, its own entry so that ./testing stays Nest-free):
  // it configures the real KinesisWorkerModule on the emulators, so it needs the Nest layer and the Nest-free helpers.
  'testing-nest': ['core', 'standalone', 'nest', 'testing', 'testing-nest'],
  // The operator's CLI reads and writes the lease table and starts the embedded emulators.
  cli: ['core', 'leases', 'testing', 'cli'],
};

interface Import {
  /** The importing file, relative to lib/. */
  readonly file: string;
  readonly specifier: string;
  /** For a relative specifier: the file it names, relative to lib/ (or outside lib/ with '../'). */
  readonly target?: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|cjs|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Comments out of the way, so an example in a comment is not taken for an import. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const SPECIFIER = /(?:\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/gm;

function resolveRelative(fromFile: string, specifier: string): string {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js')];
  const found = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  return relative(LIB, found ?? base)
    .split(sep)
    .join('/');
}

function importsOf(path: string): Import[] {
  const file = relative(LIB, path).split(sep).join('/');
  return [...withoutComments(readFileSync(path, 'utf8')).matchAll(SPECIFIER)].map(([, , specifier]) => ({
    file,
    specifier: specifier,
    target: specifier.startsWith('.') ? resolveRelative(path, specifier) : undefined,
  }));
}

const imports = sourceFiles(LIB).flatMap(importsOf);
const describeImport = ({ file, specifier, target }: Import) => `lib/${file} imports '${specifier}'${target ? ` (lib/${target})` : ''}`;

describe('lib/ import rules', () => {
  it('reads the imports it is meant to read (a guard against a regex that matches nothing)', () => {
    expect(imports.length).toBeGreaterThan(100);
    expect(imports).toContainEqual({
      file: 'create-worker.ts',
      specifier: './engines/kcl/kcl-worker',
      target: 'engines/kcl/kcl-worker.ts',
    });
    expect(imports).toContainEqual({ file: 'kinesis-worker.explorer.ts', specifier: '@nestjs/core', target: undefined });
    expect(imports).toContainEqual({ file: 'standalone.ts', specifier: './create-worker', target: 'create-worker.ts' });
    expect(imports).toContainEqual({
      file: 'testing/nest/kinesis-worker-testing.module.ts',
      specifier: '../../kinesis-worker.module',
      target: 'kinesis-worker.module.ts',
    });
  });

  it('every relative import names a file under lib/', () => {
    const unresolved = imports.filter((i) => i.target && (i.target.startsWith('../') || !existsSync(join(LIB, i.target))));
    expect(unresolved.map(describeImport)).toEqual([]);
  });

  it.each(Object.entries(ALLOWED) as [Layer, readonly Layer[]][])('%s imports only from %j', (layer, allowed) => {
    const offending = imports.filter(
      (i) => i.target && !i.target.startsWith('../') && layerOf(i.file) === layer && !allowed.includes(layerOf(i.target)),
    );
    expect(offending.map((i) => `${describeImport(i)}: ${layer} may import only ${allowed.join(', ')}`)).toEqual([]);
  });

  it('nothing outside the Nest layer (lib/*.ts, lib/decorators, lib/health) and the Nest testing module (lib/testing/nest) imports @nestjs/*', () => {
    const offending = imports.filter(
      (i) => /^@nestjs\//.test(i.specifier) && layerOf(i.file) !== 'nest' && layerOf(i.file) !== 'testing-nest',
    );
    expect(offending.map(describeImport)).toEqual([]);
  });
});
