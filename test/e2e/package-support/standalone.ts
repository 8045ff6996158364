import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStream, putRecords } from '../../../lib/testing';
import { kinesisClient, uniqueName } from '../../support/aws';
import { ok, run } from './consumer-app';

/**
 * Runs in an app: requires only the framework-free entry, says which modules that loaded, then reads the
 * records of the stream named in argv with createWorker (endpoints from the environment) and exits.
 */
const STANDALONE_RUNTIME_JS = `
'use strict';
const [streamName, expected] = [process.argv[2], Number(process.argv[3])];
const before = new Set(Object.keys(require.cache));
const { createWorker, KinesisWorkerConfigError } = require('nestjs-kinesis-worker/standalone');
const loaded = Object.keys(require.cache).filter((path) => !before.has(path));
const result = {
  loadedNest: loaded.filter((path) => /[\\/]node_modules[\\/]@nestjs[\\/]/.test(path)),
  loadedReflectMetadata: loaded.some((path) => /[\\/]node_modules[\\/]reflect-metadata[\\/]/.test(path)),
  loadedCount: loaded.length,
  nestResolvable: (() => { try { require.resolve('@nestjs/core'); return true; } catch { return false; } })(),
};
try {
  createWorker({ appName: 'standalone-check', streamName, initialPosition: 'NOWHERE' }, () => ({ processRecords: async () => undefined }));
} catch (error) {
  result.configError = { isConfigError: error instanceof KinesisWorkerConfigError, option: error.option };
}
const seen = [];
const worker = createWorker(
  {
    appName: 'standalone-' + process.pid,
    streamName,
    initialPosition: 'TRIM_HORIZON',
    idleTimeBetweenReadsMs: 200,
    kinesis: { endpoint: process.env.TEST_KINESIS_ENDPOINT },
    dynamodb: { endpoint: process.env.TEST_DYNAMODB_ENDPOINT },
    logger: { log() {}, warn() {}, error: (message) => console.error(message) },
  },
  () => ({
    processRecords: async ({ records, checkpointer }) => {
      for (const record of records) seen.push(record.data.toString());
      await checkpointer.checkpoint();
    },
  }),
);
const deadline = setTimeout(() => finish(), 60000);
worker.start().then(() => {
  const poll = setInterval(() => {
    if (seen.length < expected) return;
    clearInterval(poll);
    finish();
  }, 50);
}, (error) => finish(String(error && error.stack || error)));
function finish(startError) {
  clearTimeout(deadline);
  worker.stop().finally(() => {
    process.stdout.write(JSON.stringify({ ...result, seen, startError }));
    process.exit(0);
  });
}
`;

export interface StandaloneOutcome {
  loadedNest: string[];
  loadedReflectMetadata: boolean;
  loadedCount: number;
  nestResolvable: boolean;
  configError?: { isConfigError: boolean; option: string };
  seen: string[];
  startError?: string;
}

export async function standaloneRun(dir: string): Promise<StandaloneOutcome> {
  const streamName = uniqueName('standalone');
  const kinesis = kinesisClient();
  await createStream(kinesis, streamName, 1);
  await putRecords(
    kinesis,
    streamName,
    ['one', 'two', 'three'].map((data) => ({ partitionKey: data, data })),
  );
  kinesis.destroy();
  writeFileSync(join(dir, 'standalone-check.js'), STANDALONE_RUNTIME_JS);
  return JSON.parse(
    ok(await run(process.execPath, ['standalone-check.js', streamName, '3'], dir, 90_000), 'the standalone check'),
  ) as StandaloneOutcome;
}

export function expectWorked(outcome: StandaloneOutcome): void {
  expect(outcome.startError).toBeUndefined();
  expect(outcome.loadedNest).toEqual([]);
  expect(outcome.loadedReflectMetadata).toBe(false);
  expect(outcome.loadedCount).toBeGreaterThan(0);
  expect(outcome.configError).toEqual({ isConfigError: true, option: 'initialPosition' });
  expect(outcome.seen).toEqual(['one', 'two', 'three']);
}
