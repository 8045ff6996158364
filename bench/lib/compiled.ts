import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'bench', '.build');
let built = false;

/**
 * Child processes whose memory and start-up are measured run compiled JavaScript, as in production:
 * under ts-node the TypeScript compiler alone would add ~100 MB and a second of start-up.
 */
export function compiled(pathFromRoot: string): string {
  if (!built) {
    execFileSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        join(ROOT, 'tsconfig.json'),
        '--outDir',
        OUT,
        '--sourceMap',
        'false',
        '--declaration',
        'false',
        '--allowJs',
      ],
      {
        stdio: 'inherit',
      },
    );
    built = true;
  }
  return join(OUT, pathFromRoot.replace(/\.ts$/, '.js'));
}
