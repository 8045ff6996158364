import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerApp, npmInstall, packedPackage } from './package-support/consumer-app';
import { expectWorked, standaloneRun } from './package-support/standalone';

/**
 * The framework-free entry, nestjs-kinesis-worker/standalone, in an app that installs only the packed
 * tarball: no Nest peer comes with it, and createWorker reads a stream (package.e2e-spec runs the same
 * check in the Nest app).
 */
let workDir: string;
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it('in an app without Nest installed (a plain npm install adds no Nest peer): loads and reads a stream', async () => {
  workDir = mkdtempSync(join(tmpdir(), 'nkw-package-bare-'));
  const { tarball } = await packedPackage();
  const bareDir = consumerApp(join(workDir, 'bare-app'), {
    name: 'nkw-bare-consumer',
    dependencies: { 'nestjs-kinesis-worker': `file:${tarball}` },
  });
  // A plain install: every peer is optional (the Nest ones are for the Nest adapter only), so npm installs none of them.
  await npmInstall(bareDir);
  const outcome = await standaloneRun(bareDir);
  expect(outcome.nestResolvable).toBe(false);
  expectWorked(outcome);
}, 600_000);
