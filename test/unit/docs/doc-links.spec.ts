/**
 * Links that work where the documentation is read. The README is shown on the npm registry's page,
 * which cannot resolve relative links (the package has no public repository field), so the README
 * links the guides by absolute URL into the published package (DOCS_URL, CONTRIBUTING.md says why);
 * each such link must name a file the package ships, as `npm pack` lists it. Inside docs/, relative
 * links must name a file that exists and is shipped too, and every #anchor a heading of its target.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { anchors, links } from '../../support/markdown';

const ROOT = resolve(__dirname, '..', '..', '..');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string };
/** Where the README points for a shipped file: the package as published, its latest release. */
const DOCS_URL = `https://unpkg.com/${MANIFEST.name}@latest/`;
const GUIDES = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .sort()
  .map((name) => `docs/${name}`);

/** The files `npm pack` would put in the package (without building: the docs do not depend on dist/). */
function packedFiles(): Set<string> {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  const [pack] = JSON.parse(output) as [{ files: { path: string }[] }];
  return new Set(pack.files.map((file) => file.path));
}

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** The problem with an anchor of a shipped Markdown file, if any. */
function anchorProblem(file: string, anchor: string | undefined): string | undefined {
  if (anchor === undefined || !file.endsWith('.md')) return undefined;
  return anchors(read(file)).has(anchor) ? undefined : `#${anchor} is no heading of ${file}`;
}

describe('documentation links', () => {
  let packed: Set<string>;

  beforeAll(() => {
    packed = packedFiles();
  }, 60_000);

  it('ships README.md, CHANGELOG.md, LICENSE and every guide in docs/', () => {
    for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', ...GUIDES]) expect([file, packed.has(file)]).toEqual([file, true]);
  });

  it('README.md: relative links only to its own headings; the guides by absolute URL to a shipped file', () => {
    const problems: string[] = [];
    const own = anchors(read('README.md'));
    const found = links(read('README.md'));
    expect(found.length).toBeGreaterThan(0);
    for (const { target, line } of found) {
      const where = `README.md:${line}: ${target}`;
      if (target.startsWith('#')) {
        if (!own.has(target.slice(1))) problems.push(`${where}: no such heading in README.md`);
      } else if (target.startsWith(DOCS_URL)) {
        const [file, anchor] = target.slice(DOCS_URL.length).split('#');
        if (!packed.has(file)) problems.push(`${where}: ${file} is not in the package (package.json files)`);
        else {
          const problem = anchorProblem(file, anchor);
          if (problem) problems.push(`${where}: ${problem}`);
        }
      } else if (target.startsWith(`https://unpkg.com/${MANIFEST.name}`)) {
        problems.push(`${where}: link the package's files as ${DOCS_URL}<path>`);
      } else if (!/^(https?:|mailto:)/.test(target)) {
        problems.push(`${where}: a relative link breaks on the npm registry's page; use ${DOCS_URL}<path> for a shipped file`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(GUIDES)('%s: every relative link names a shipped file, and its anchor a heading', (guide) => {
    const problems: string[] = [];
    for (const { target, line } of links(read(guide))) {
      if (/^(https?:|mailto:)/.test(target)) continue;
      const where = `${guide}:${line}: ${target}`;
      const [path, anchor] = target.split('#');
      const file = path === '' ? guide : posix.normalize(posix.join(dirname(guide), path));
      if (!existsSync(join(ROOT, file))) problems.push(`${where}: ${file} does not exist`);
      else if (!packed.has(file)) problems.push(`${where}: ${file} is not in the package (package.json files)`);
      else {
        const problem = anchorProblem(file, anchor);
        if (problem) problems.push(`${where}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
