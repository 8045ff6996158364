/**
 * The README's reference tables follow the code: the Options table names every option key the
 * library accepts (lib/core/option-keys.ts, plus the Nest module's own) and nothing else, and the
 * Install section names every optional peer dependency with its range from package.json.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WORKER_OPTION_KEYS } from '../../../lib/core/option-keys';

const ROOT = resolve(__dirname, '..', '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The keys only KinesisWorkerModule.forRoot / forRootAsync take (lib/kinesis-worker.module-definition.ts). */
const MODULE_ONLY_KEYS = ['autoStart', 'isGlobal'];

/** The text of a `## heading` section, up to the next `## `. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

describe('README reference tables', () => {
  it('the Options table lists every option key, and only option keys', () => {
    const rows = section('Options')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    const named = rows.flatMap((row) => [...row.split('|')[1].matchAll(/`([A-Za-z0-9]+)`/g)].map((match) => match[1]));
    expect(named.length).toBeGreaterThan(0);
    const known = [...WORKER_OPTION_KEYS, ...MODULE_ONLY_KEYS];
    expect(named.filter((key) => !known.includes(key))).toEqual([]);
    expect(known.filter((key) => !named.includes(key))).toEqual([]);
  });

  it('the Install section names every optional peer dependency with its range', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const install = section('Install').replace(/\\\|/g, '|');
    const peers = Object.entries(manifest.peerDependencies);
    expect(peers.length).toBeGreaterThan(0);
    const missing = peers
      .filter(([name, range]) => !install.includes(name) || !install.includes(`\`${range}\``))
      .map(([name, range]) => `${name} ${range}`);
    expect(missing).toEqual([]);
    expect(peers.filter(([name]) => manifest.peerDependenciesMeta[name]?.optional !== true).map(([name]) => name)).toEqual([]);
  });
});
