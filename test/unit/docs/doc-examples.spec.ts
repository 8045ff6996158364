/**
 * Keeps the examples honest: every ```ts block of README.md and docs/*.md is type-checked against the
 * library's public API, as a user's file would be. The package's own import names
 * (`nestjs-kinesis-worker`, `nestjs-kinesis-worker/testing`, ...) resolve to the sources through the
 * `exports` map of package.json. One program holds every block (one module each), so the check takes a
 * few seconds. Markers on the line before a block: `<!-- file: orders.ts -->` names the block's file, so
 * that a later block of the same document can `import ... from './orders'` as the reader's next file
 * would; `<!-- not-compiled: reason -->` leaves out a block that is a fragment on purpose. What an
 * example takes as given without writing it (the reader's own classes) is test/support/doc-example-context.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { codeBlocks } from '../../support/markdown';
import { docExampleContext, UNINSTALLED_PACKAGES } from '../../support/doc-example-context';

const ROOT = resolve(__dirname, '..', '..', '..');
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const VIRTUAL = join(ROOT, '.doc-examples');
const CONTEXT_FILE = join(VIRTUAL, 'context.d.ts');
const PACKAGES_FILE = join(VIRTUAL, 'uninstalled-packages.d.ts');
/** The README's five-minute start: the processor and repository the other examples take as given. */
const README_ORDERS = join(VIRTUAL, 'README_md', 'orders.ts');

interface Example {
  readonly document: string;
  /** 1-based Markdown line of the block's first code line. */
  readonly line: number;
  readonly file: string;
  readonly source: string;
}

/** `nestjs-kinesis-worker/<subpath>` -> lib/<subpath>.ts, read from the exports map as published. */
function packagePaths(): Record<string, string[]> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { types: string }>;
  };
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    const source = target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts');
    paths[manifest.name + subpath.slice(1)] = [source];
  }
  return paths;
}

function examples(): Example[] {
  const all = DOCUMENTS.flatMap((document) =>
    codeBlocks(readFileSync(join(ROOT, document), 'utf8'))
      .filter((block) => ['ts', 'typescript'].includes(block.info.split(/\s+/)[0]) && block.notCompiled === undefined)
      .map((block) => ({
        document,
        line: block.line,
        // One folder per document: its named blocks are siblings of the others.
        file: join(VIRTUAL, document.replace(/[/.]/g, '_'), block.fileName ?? `line${block.line}.ts`),
        // Each block is a module of its own: its names do not leak into the next block.
        source: `${block.code}\nexport {};\n`,
      })),
  );
  const files = all.map((example) => example.file);
  const twice = files.filter((file, index) => files.indexOf(file) !== index);
  if (twice.length > 0) throw new Error(`Two blocks of one document are marked with the same file name: ${twice.join(', ')}`);
  return all;
}

function typeCheck(all: readonly Example[]): Map<string, string[]> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts'],
    types: ['node', 'jest'],
    strict: true,
    esModuleInterop: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    noEmit: true,
    baseUrl: ROOT,
    paths: packagePaths(),
  };
  if (!all.some((example) => example.file === README_ORDERS))
    throw new Error('README.md has no block marked <!-- file: orders.ts -->: the other examples build on it.');
  const virtual = new Map<string, string>([
    [CONTEXT_FILE, docExampleContext(README_ORDERS.replace(/\.ts$/, ''))],
    [PACKAGES_FILE, UNINSTALLED_PACKAGES],
    ...all.map((example): [string, string] => [example.file, example.source]),
  ]);
  // The compiler's own host for every real file, the virtual files (the blocks and the context) over it.
  const disk = ts.createCompilerHost(options, true);
  const host: ts.CompilerHost = {
    ...disk,
    fileExists: (name) => virtual.has(name) || disk.fileExists(name),
    directoryExists: (name) => name.startsWith(VIRTUAL) || ts.sys.directoryExists(name),
    readFile: (name) => virtual.get(name) ?? disk.readFile(name),
    getSourceFile: (name, language, onError, create) => {
      const text = virtual.get(name);
      return text !== undefined ? ts.createSourceFile(name, text, language, true) : disk.getSourceFile(name, language, onError, create);
    },
  };
  const program = ts.createProgram([CONTEXT_FILE, PACKAGES_FILE, ...all.map((example) => example.file)], options, host);
  const errors = new Map<string, string[]>(DOCUMENTS.map((document) => [document, []]));
  for (const example of all) {
    const sourceFile = program.getSourceFile(example.file)!;
    const diagnostics = [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
    for (const diagnostic of diagnostics) {
      const { line } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      errors.get(example.document)!.push(`${example.document}:${example.line + line}: TS${diagnostic.code} ${message}`);
    }
  }
  return errors;
}

describe('TypeScript examples in the documentation', () => {
  const all = examples();
  let errors: Map<string, string[]>;

  beforeAll(() => {
    errors = typeCheck(all);
  });

  it('finds the examples of the README and of the Nest and testing guides', () => {
    for (const document of ['README.md', 'docs/nest.md', 'docs/testing.md']) {
      expect(all.filter((example) => example.document === document).length).toBeGreaterThan(0);
    }
  });

  it.each(DOCUMENTS)('%s: every ts block type-checks against the public API', (document) => {
    expect(errors.get(document)).toEqual([]);
  });
});
