import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerApp, npmInstall, packedPackage, run } from './package-support/consumer-app';
import { TESTING_SPEC, testingAppPackageJson, testingAppTsconfig } from './package-support/testing-spec';

/**
 * The testing entries as a user gets them: an app with the packed tarball and only the dev dependencies
 * docs/testing.md lists, whose own jest (ts-jest) runs an e2e spec of a real processor on
 * KinesisWorkerTestingModule (package-testing-vitest runs the same spec with vitest).
 */
let workDir: string;
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it('an e2e spec of a real processor on KinesisWorkerTestingModule runs with jest from the packed tarball', async () => {
  workDir = mkdtempSync(join(tmpdir(), 'nkw-package-jest-'));
  const { tarball } = await packedPackage();
  const testingDir = consumerApp(join(workDir, 'testing-app'), testingAppPackageJson(tarball, 'jest'));
  mkdirSync(join(testingDir, 'test'), { recursive: true });
  writeFileSync(join(testingDir, 'tsconfig.json'), testingAppTsconfig(['node', 'jest']));
  writeFileSync(join(testingDir, 'test', 'orders.e2e-spec.ts'), TESTING_SPEC);
  await npmInstall(testingDir);
  const jest = await run(
    process.execPath,
    [join(testingDir, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--verbose'],
    testingDir,
    120_000,
  );
  const output = `${jest.stdout}${jest.stderr}`;
  console.log(
    `the consumer's jest:\n${output
      .split('\n')
      .filter((line) => /PASS|FAIL|✓|✕|Tests:|Time:/.test(line))
      .join('\n')}`,
  );
  expect([jest.code, jest.code === 0 ? '' : output]).toEqual([0, '']);
  expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
}, 600_000);
