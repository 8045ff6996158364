import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalEmulators, type LocalEmulators } from '../../lib/testing';
import type { WorkerEmulators } from './worker-emulators';

/**
 * One set of emulators per jest worker, each on its own loopback ports, and one temporary folder per
 * worker: parallel suites never see each other's streams, tables, processes or kcl run directories
 * (the kcl engine sweeps the dead run directories of its temporary folder). test/support/environment.js
 * points each worker at its own set.
 */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const workers = Math.max(1, globalConfig.maxWorkers);
  const root = join(tmpdir(), `nkw-jest-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const started = await Promise.allSettled(Array.from({ length: workers }, () => startLocalEmulators()));
  const emulators = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  (globalThis as { __emulators?: LocalEmulators[] }).__emulators = emulators;
  (globalThis as { __testRoot?: string }).__testRoot = root;
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  const sets: WorkerEmulators[] = emulators.map((e, index) => {
    const tmp = join(root, `w${index + 1}`);
    mkdirSync(tmp, { recursive: true });
    return { kinesis: e.kinesis.endpoint, dynamodb: e.dynamodb.endpoint, kinesisTlsPort: e.kinesis.tlsPort, tmpdir: tmp };
  });
  process.env.TEST_WORKER_EMULATORS = JSON.stringify(sets);
  // Shared by every suite of this run (the packed tarball of the package suites); removed by global-teardown.
  process.env.TEST_RUN_ROOT = root;
  // Each suite's CPU, written by environment.js and printed by the slowest-suites reporter.
  process.env.TEST_CPU_DIR = join(root, 'cpu');
  mkdirSync(process.env.TEST_CPU_DIR, { recursive: true });
  // What a user's environment would provide: the SDK's default credential chain reads these.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_REGION = emulators[0].region;
  // The JVMs of the kcl suites (MultiLangDaemon, the Java test consumer, Maven) live seconds to minutes:
  // C1 only and the serial collector spare the C2 compiler and GC threads that a 2-core machine running
  // five suites cannot give them (measured: two kcl suites 32.6 s of CPU by default, 18.9 s so).
  process.env.JDK_JAVA_OPTIONS = [process.env.JDK_JAVA_OPTIONS, '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'].filter(Boolean).join(' ');
}
