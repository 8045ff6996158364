import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { nodeScriptArgs } from '../support/compiled-scripts';
import { readLeases } from '../support/lease-table';
import { shutdownAppModule, type JournalEntry, type ShutdownAppConfig } from '../support/nest-shutdown-app';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

async function streamWithOrders(prefix: string): Promise<ShutdownAppConfig> {
  const stream = uniqueName(prefix);
  await createStream(kinesis, stream, 2);
  await putRecords(
    kinesis,
    stream,
    Array.from({ length: 80 }, (_, i) => ({ partitionKey: `customer-${i}`, data: `order-${i}` })),
  );
  return {
    stream,
    options: { appName: uniqueName(`${prefix}-app`), ...workerClientOptions(), idleTimeBetweenReadsMs: 50 },
    batchDelayMs: 250,
    maxRecords: 4,
  };
}

/** Both shards are being processed and at least one batch is between its start and its end. */
function batchInFlight(journal: readonly JournalEntry[]): boolean {
  const started = journal.filter((e) => e.kind === 'batchStarted');
  const done = journal.filter((e) => e.kind === 'batchDone');
  return new Set(started.map((e) => (e as { shardId: string }).shardId)).size === 2 && started.length > done.length;
}

/** The pool opened (onApplicationBootstrap of a feature module) before any processor was initialized. */
function expectStartedAfterPoolOpened(journal: readonly JournalEntry[]) {
  const initializes = journal.filter((e): e is Extract<JournalEntry, { kind: 'initialize' }> => e.kind === 'initialize');
  expect(initializes.map((e) => [e.shardId, e.poolOpen]).sort()).toEqual([
    ['shardId-000000000000', true],
    ['shardId-000000000001', true],
  ]);
  expect(journal.findIndex((e) => e.kind === 'poolOpened')).toBeLessThan(journal.findIndex((e) => e.kind === 'initialize'));
}

/**
 * What a clean drain looks like: the batch in flight finished, each shard's processor got
 * shutdown(REQUESTED) while the pool was open and checkpointed, the pool closed only afterwards,
 * and the lease table holds each shard's last processed record, with the lease released.
 */
async function expectDrainedBeforePoolClosed(journal: readonly JournalEntry[], config: ShutdownAppConfig) {
  expect(journal.filter((e) => e.kind === 'failed')).toEqual([]);
  expect(journal.filter((e) => e.kind === 'batchStarted').length).toBe(journal.filter((e) => e.kind === 'batchDone').length);

  const shutdowns = journal.filter((e): e is Extract<JournalEntry, { kind: 'shutdown' }> => e.kind === 'shutdown');
  expect(shutdowns.map((e) => [e.shardId, e.reason, e.poolOpen]).sort()).toEqual([
    ['shardId-000000000000', 'REQUESTED', true],
    ['shardId-000000000001', 'REQUESTED', true],
  ]);
  expect(journal.filter((e) => e.kind === 'checkpointed' && e.final)).toHaveLength(2);

  const poolClosedAt = journal.findIndex((e) => e.kind === 'poolClosed');
  expect(poolClosedAt).toBeGreaterThan(-1);
  const lastWorkerEntry = Math.max(
    ...journal.map((e, i) => (e.kind === 'poolClosed' || e.kind === 'poolOpened' || e.kind === 'appStarted' ? -1 : i)),
  );
  expect(poolClosedAt).toBeGreaterThan(lastWorkerEntry);

  const lastProcessed = new Map<string, string>();
  for (const e of journal) if (e.kind === 'batchDone') lastProcessed.set(e.shardId, e.lastSequenceNumber);
  const leases = await readLeases(dynamo, config.options.appName);
  expect(leases.map((l) => ({ shardId: l.shardId, owner: l.owner, checkpoint: l.checkpoint }))).toEqual(
    [...lastProcessed].sort().map(([shardId, checkpoint]) => ({ shardId, owner: undefined, checkpoint })),
  );
}

describe('Nest lifecycle order: the workers start after every other provider bootstrapped and drain before any is destroyed', () => {
  it('app.close(): processors start once a feature module pool opened in onApplicationBootstrap; the batch in flight, shutdown(REQUESTED) and the final checkpoints run while a feature module pool (closed in onModuleDestroy) is still open', async () => {
    const config = await streamWithOrders('close');
    const journal: JournalEntry[] = [];
    const app = await NestFactory.createApplicationContext(
      shutdownAppModule(config, (entry) => journal.push(entry)),
      { logger: ['error', 'warn'] },
    );
    try {
      await waitFor(() => batchInFlight(journal), 'a batch in flight on both shards');
    } finally {
      await app.close();
    }
    expectStartedAfterPoolOpened(journal);
    await expectDrainedBeforePoolClosed(journal, config);
  });

  it('SIGTERM to a child process app with enableShutdownHooks(): the same drain before the pool closes', async () => {
    const config = await streamWithOrders('sigterm');
    const dir = mkdtempSync(join(tmpdir(), 'nest-sigterm-'));
    const journalFile = join(dir, 'journal.jsonl');
    const readJournal = (): JournalEntry[] =>
      existsSync(journalFile)
        ? readFileSync(journalFile, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line))
        : [];
    const child = spawn(
      process.execPath,
      [...nodeScriptArgs(join(__dirname, '..', 'support', 'nest-shutdown-app.ts')), JSON.stringify({ ...config, journalFile })],
      {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await waitFor(() => batchInFlight(readJournal()) || child.exitCode !== null, 'a batch in flight on both shards in the child app');
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      // Nest runs the close hooks, then raises the signal again to end the process the default way.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(output).not.toMatch(/ERROR/);
      expectStartedAfterPoolOpened(readJournal());
      await expectDrainedBeforePoolClosed(readJournal(), config);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
