import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerApp, npmInstall, packedPackage, run } from './package-support/consumer-app';
import { TESTING_SPEC, testingAppPackageJson, testingAppTsconfig, VITEST_CONFIG, VITEST_PACKAGES } from './package-support/testing-spec';

/**
 * The testing entries under vitest, as docs/testing.md says: the app of package-testing-jest with vitest
 * and swc (for the decorator metadata Nest injects by) instead of jest, running the same spec.
 */
let workDir: string;
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it('the same spec runs with vitest (swc for the decorator metadata Nest injects by), as docs/testing.md says', async () => {
  workDir = mkdtempSync(join(tmpdir(), 'nkw-package-vitest-'));
  const { tarball } = await packedPackage();
  const testingDir = consumerApp(join(workDir, 'testing-app'), testingAppPackageJson(tarball, 'vitest'));
  await npmInstall(testingDir, ['--save-dev', ...VITEST_PACKAGES]);
  mkdirSync(join(testingDir, 'vitest'), { recursive: true });
  writeFileSync(
    join(testingDir, 'vitest', 'orders.vitest-spec.ts'),
    `import { afterEach, beforeEach, describe, expect, it } from 'vitest';\n${TESTING_SPEC}`,
  );
  writeFileSync(join(testingDir, 'vitest.config.mts'), VITEST_CONFIG);
  writeFileSync(join(testingDir, 'tsconfig.json'), testingAppTsconfig(['node']));
  const vitest = await run(
    process.execPath,
    [join(testingDir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--no-color'],
    testingDir,
    120_000,
  );
  const output = `${vitest.stdout}${vitest.stderr}`;
  console.log(
    `the consumer's vitest:\n${output
      .split('\n')
      .filter((line) => /✓|✗|×|Tests|Duration/.test(line))
      .join('\n')}`,
  );
  expect([vitest.code, vitest.code === 0 ? '' : output]).toEqual([0, '']);
  expect(output).toMatch(/Tests\s+2 passed \(2\)/);
}, 600_000);
