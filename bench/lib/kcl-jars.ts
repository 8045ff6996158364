import { join, resolve } from 'node:path';
import { locateJars } from '../../lib/engines/kcl/jars';
import { KCL_DEFAULT_VERSION, defaultJarsDir } from '../../lib/engines/kcl/kcl-lines';

/**
 * Why the kcl engine's rows cannot run (the jars of its default KCL line are not provisioned: `npm
 * run bench` provisions them first, in its prebench step, as `npm test` does), or undefined when they
 * can. BENCH_SKIP_KCL=1 skips them on purpose.
 */
export function kclJarsMissing(): string | undefined {
  if (process.env.BENCH_SKIP_KCL === '1') return 'BENCH_SKIP_KCL=1';
  const dir = defaultJarsDir(KCL_DEFAULT_VERSION, resolve(process.env.KCL_JARS_DIR || join(process.cwd(), '.kcl', 'jars')));
  try {
    locateJars(dir, KCL_DEFAULT_VERSION);
    return undefined;
  } catch (error) {
    return `${(error as Error).message} Then rerun npm run bench for the kcl rows.`;
  }
}
