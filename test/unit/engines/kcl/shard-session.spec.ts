/* eslint-disable @typescript-eslint/require-await -- stubbed daemon calls and processors answer at once */
import { WorkerMetrics } from '../../../../lib/core/metrics';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LeaseLostError,
  type KinesisRecordProcessor,
  type ProcessRecordsInput,
  type ShardContext,
  type ShutdownInput,
} from '../../../../lib';
import { resolveWorkerOptions } from '../../../../lib/core/resolve-options';
import type { StreamWorkerOptions } from '../../../../lib/core/options';
import { ShardSession } from '../../../../lib/engines/kcl/shard-session';
import { waitFor } from '../../../support/wait-for';
import { toKinesisRecords } from '../../../../lib/engines/kcl/kcl-records';

/**
 * A ShardSession, with the real aws-kcl inside, driven over a real Unix socket by a scripted peer that
 * speaks the MultiLangDaemon side of the protocol, as the relay would pass it through.
 */
const SEQ = (n: number) => `4968061264274881052013050876133${String(n).padStart(25, '0')}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

class DaemonPeer {
  private buffer = '';
  private readonly lines: unknown[] = [];
  private waiting: ((line: unknown) => void) | undefined;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffer += chunk.toString();
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop()!;
      for (const part of parts.filter((p) => p.trim() !== '')) {
        const parsed = JSON.parse(part);
        if (this.waiting) {
          const resolve = this.waiting;
          this.waiting = undefined;
          resolve(parsed);
        } else this.lines.push(parsed);
      }
    });
  }

  send(action: object | string): void {
    this.socket.write(`${typeof action === 'string' ? action : JSON.stringify(action)}\n`);
  }

  next(timeoutMs = 5_000): Promise<Record<string, unknown>> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift() as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message from the session')), timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line as Record<string, unknown>);
      };
    });
  }

  /** Nothing arrives within ms. */
  async silent(ms = 150): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(this.lines).toEqual([]);
  }
}

interface Harness {
  peer: DaemonPeer;
  session: ShardSession;
  calls: string[];
  shards: ShardContext[];
  logs: string[];
  given: { lease: string[] };
  events: unknown[];
}

let dir: string;
let server: Server;
let accepted: ((socket: Socket) => void) | undefined;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kcl-session-'));
  server = createServer((socket) => accepted?.(socket));
  await new Promise<void>((resolve) => server.listen(join(dir, 's.sock'), resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const sockets: Socket[] = [];
afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));

async function connect(
  processor: (calls: string[]) => KinesisRecordProcessor,
  options: Partial<StreamWorkerOptions> = {},
): Promise<Harness> {
  const calls: string[] = [];
  const shards: ShardContext[] = [];
  const logs: string[] = [];
  const events: unknown[] = [];
  const given = { lease: [] as string[] };
  const resolved = resolveWorkerOptions({
    appName: 'app',
    streamName: 'orders',
    region: 'us-east-1',
    workerId: 'w-1',
    engine: 'kcl',
    processingRetry: { baseDelayMs: 5, maxDelayMs: 10 },
    checkpointRetry: { baseDelayMs: 1, maxDelayMs: 2 },
    logger: {
      log: (m) => void logs.push(`LOG ${m}`),
      warn: (m) => void logs.push(`WARN ${m}`),
      error: (m) => void logs.push(`ERROR ${m}`),
    },
    onEvent: (event) => void events.push(event),
    ...options,
  });
  const serverSide = new Promise<Socket>((resolve) => (accepted = resolve));
  const client = createConnection(join(dir, 's.sock'));
  sockets.push(client);
  const socket = await serverSide;
  sockets.push(socket);
  const session = new ShardSession({
    socket,
    options: resolved,
    metrics: new WorkerMetrics(resolved, undefined),
    factory: (shard) => {
      shards.push(shard);
      return processor(calls);
    },
    giveUpLease: async (shardId) => void given.lease.push(shardId),
    childShards: async () => ['shardId-000000000002', 'shardId-000000000003'],
  });
  return { peer: new DaemonPeer(client), session, calls, shards, logs, given, events };
}

const record = (n: number, extra: object = {}) => ({
  action: 'record',
  data: b64(`r${n}`),
  partitionKey: `pk${n}`,
  sequenceNumber: SEQ(n),
  subSequenceNumber: 0,
  approximateArrivalTimestamp: 1_700_000_000_000 + n,
  ...extra,
});

/** A processor that records calls, checkpoints each batch, and checkpoints at REQUESTED. */
const recording = (calls: string[]): KinesisRecordProcessor => ({
  initialize: ({ shardId, checkpoint }) => void calls.push(`initialize ${shardId} ${checkpoint.sequenceNumber}`),
  processRecords: async ({ records, checkpointer }) => {
    calls.push(`processRecords ${records.map((r) => r.data.toString()).join(',')}`);
    await checkpointer.checkpoint();
  },
  shutdown: async ({ reason, checkpointer }) => {
    calls.push(`shutdown ${reason} ${checkpointer ? 'with' : 'without'} checkpointer`);
    if (reason === 'REQUESTED') await checkpointer!.checkpoint();
  },
});

async function initialize(h: Harness, sequenceNumber = 'TRIM_HORIZON') {
  h.peer.send({ action: 'initialize', shardId: 'shardId-000000000001', sequenceNumber, subSequenceNumber: 0 });
  expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'initialize' });
}

describe('a shard session: aws-kcl over the socket, driving a Promise processor', () => {
  it('builds the processor through the factory at initialize, maps records, and checkpoints explicit positions', async () => {
    const seen: ProcessRecordsInput[] = [];
    const h = await connect((calls) => ({
      ...recording(calls),
      processRecords: async (input) => {
        seen.push(input);
        await input.checkpointer.checkpoint();
      },
    }));
    await initialize(h, SEQ(1));
    expect(h.shards).toEqual([{ streamName: 'orders', shardId: 'shardId-000000000001', workerId: 'w-1' }]);
    expect(h.calls).toEqual([`initialize shardId-000000000001 ${SEQ(1)}`]);

    h.peer.send({ action: 'processRecords', millisBehindLatest: 42, records: [record(2), record(3, { subSequenceNumber: 7 })] });
    expect(await h.peer.next()).toEqual({ action: 'checkpoint', sequenceNumber: SEQ(3), subSequenceNumber: 7 });
    await h.peer.silent();
    h.peer.send({ action: 'checkpoint', sequenceNumber: SEQ(3), subSequenceNumber: 7, error: null });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });

    const [input] = seen;
    expect(input.shardId).toBe('shardId-000000000001');
    expect(input.millisBehindLatest).toBe(42);
    expect(input.records).toEqual([
      { data: Buffer.from('r2'), partitionKey: 'pk2', sequenceNumber: SEQ(2), approximateArrivalTimestamp: new Date(1_700_000_000_002) },
      {
        data: Buffer.from('r3'),
        partitionKey: 'pk3',
        sequenceNumber: SEQ(3),
        subSequenceNumber: 7,
        approximateArrivalTimestamp: new Date(1_700_000_000_003),
      },
    ]);
    expect(h.session.checkpoint).toEqual({ sequenceNumber: SEQ(3), subSequenceNumber: 7 });
    expect(h.session.state).toBe('PROCESSING');
    expect(h.session.millisBehindLatest).toBe(42);
  });

  it('retries a throwing processRecords with backoff, logging shard and sequence numbers, and answers only after success', async () => {
    let failures = 0;
    const thrown: Error[] = [];
    const h = await connect((calls) => ({
      ...recording(calls),
      processRecords: async ({ records }) => {
        if (failures++ < 2) throw thrown[thrown.push(new Error('database unavailable')) - 1];
        calls.push(`processRecords ${records.length}`);
      },
    }));
    await initialize(h);
    h.peer.send({ action: 'processRecords', records: [record(1), record(2)] });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    expect(h.calls.filter((c) => c.startsWith('processRecords'))).toEqual(['processRecords 2']);
    const errors = h.logs.filter((l) => l.startsWith('ERROR'));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain(`processRecords for 2 records ${SEQ(1)}..${SEQ(2)} on orders/shardId-000000000001 failed (attempt 1)`);
    // Each throw is also reported as a structured event, with the processor's own error object.
    const failed = h.events.filter((e) => (e as { type: string }).type === 'processorFailed');
    expect(failed).toEqual(
      [1, 2].map((attempt) =>
        expect.objectContaining({
          type: 'processorFailed',
          streamName: 'orders',
          shardId: 'shardId-000000000001',
          call: 'processRecords',
          description: `processRecords for 2 records ${SEQ(1)}..${SEQ(2)}`,
          attempt,
        }),
      ),
    );
    expect(failed.map((e) => (e as { error: unknown }).error)).toEqual(thrown);
    expect((failed[0] as { error: unknown }).error).toBe(thrown[0]);
  });

  it('shutdownRequested: shutdown(REQUESTED) with a checkpointer, once; the leaseLost that follows is answered and ignored', async () => {
    const h = await connect(recording);
    await initialize(h);
    h.peer.send({ action: 'processRecords', records: [record(1)] });
    expect(await h.peer.next()).toMatchObject({ action: 'checkpoint', sequenceNumber: SEQ(1) });
    h.peer.send({ action: 'checkpoint', sequenceNumber: SEQ(1), error: null });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });

    h.peer.send({ action: 'shutdownRequested' });
    expect(await h.peer.next()).toEqual({ action: 'checkpoint', sequenceNumber: SEQ(1), subSequenceNumber: 0 });
    h.peer.send({ action: 'checkpoint', sequenceNumber: SEQ(1), error: null });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'shutdownRequested' });
    h.peer.send({ action: 'leaseLost' });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'leaseLost' });
    h.peer.socket.end();
    await h.session.closed;
    expect(h.calls.filter((c) => c.startsWith('shutdown'))).toEqual(['shutdown REQUESTED with checkpointer']);
    expect(h.session.state).toBe('SHUT_DOWN');
  });

  it('shardEnded: shutdown(TERMINATE), then the SHARD_END checkpoint (sequenceNumber null) if the processor did not write it', async () => {
    const h = await connect((calls) => ({ ...recording(calls), shutdown: ({ reason }) => void calls.push(`shutdown ${reason}`) }));
    await initialize(h);
    h.peer.send({ action: 'shardEnded' });
    expect(await h.peer.next()).toEqual({ action: 'checkpoint', sequenceNumber: null });
    h.peer.send({ action: 'checkpoint', sequenceNumber: null, error: null });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'shardEnded' });
    expect(h.calls).toContain('shutdown TERMINATE');
    expect(h.session.checkpoint.sequenceNumber).toBe('SHARD_END');
    await waitFor(() => h.events.some((e) => (e as { type?: string }).type === 'shardEnded'), 'the shardEnded event');
    expect(h.events).toContainEqual(
      expect.objectContaining({
        type: 'shardEnded',
        shardId: 'shardId-000000000001',
        childShardIds: ['shardId-000000000002', 'shardId-000000000003'],
      }),
    );
  });

  it('shutdown(TERMINATE) that throws is retried with backoff; SHARD_END is written only by the call that succeeds', async () => {
    let attempts = 0;
    const h = await connect((calls) => ({
      ...recording(calls),
      shutdown: async ({ reason, checkpointer }) => {
        calls.push(`shutdown ${reason} attempt ${++attempts}`);
        if (attempts <= 2) throw new Error('downstream not flushed');
        await checkpointer!.checkpoint();
      },
    }));
    await initialize(h);
    h.peer.send({ action: 'shardEnded' });
    // The first message after shardEnded is the checkpoint of the third, successful call: nothing earlier.
    expect(await h.peer.next()).toEqual({ action: 'checkpoint', sequenceNumber: null });
    expect(attempts).toBe(3);
    h.peer.send({ action: 'checkpoint', sequenceNumber: null, error: null });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'shardEnded' });
    expect(h.session.checkpoint.sequenceNumber).toBe('SHARD_END');
    const retries = h.logs.filter((l) => l.startsWith('ERROR') && l.includes('shutdown(TERMINATE) on orders/shardId-000000000001 failed'));
    expect(retries).toHaveLength(2);
    await h.peer.silent(20);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'shardEnded', shardId: 'shardId-000000000001' }));
    expect(h.given.lease).toEqual([]);
  });

  it('shutdown(TERMINATE) that keeps throwing: no SHARD_END on its behalf; after processingRetry.maxAttempts the lease is given up', async () => {
    const h = await connect(
      (calls) => ({
        ...recording(calls),
        shutdown: ({ reason }) => {
          calls.push(`shutdown ${reason}`);
          throw new Error('never flushes');
        },
      }),
      { processingRetry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } },
    );
    await initialize(h);
    h.peer.send({ action: 'shardEnded' });
    // No checkpoint request at all: the status comes straight after the failed attempts.
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'shardEnded' });
    expect(h.calls.filter((c) => c.startsWith('shutdown'))).toEqual(['shutdown TERMINATE', 'shutdown TERMINATE', 'shutdown TERMINATE']);
    expect(h.session.checkpoint.sequenceNumber).toBe('TRIM_HORIZON');
    expect(h.given.lease).toEqual(['shardId-000000000001']);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', reason: 'GAVE_UP' }));
    expect(h.events).not.toContainEqual(expect.objectContaining({ type: 'shardEnded' }));
    expect(
      h.logs.some((l) => l.startsWith('ERROR') && l.includes('shutdown(TERMINATE) on orders/shardId-000000000001 failed 3 times')),
    ).toBe(true);
  });

  it('a stop during the TERMINATE retries ends them without SHARD_END and without giving the lease up (stop releases it)', async () => {
    const h = await connect(
      (calls) => ({
        ...recording(calls),
        shutdown: ({ reason }) => {
          calls.push(`shutdown ${reason}`);
          throw new Error('never flushes');
        },
      }),
      { processingRetry: { baseDelayMs: 50, maxDelayMs: 50 } },
    );
    await initialize(h);
    h.peer.send({ action: 'shardEnded' });
    while (h.calls.filter((c) => c === 'shutdown TERMINATE').length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    h.session.requestStop();
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'shardEnded' });
    expect(h.session.checkpoint.sequenceNumber).toBe('TRIM_HORIZON');
    expect(h.given.lease).toEqual([]);
    expect(h.logs.some((l) => l.startsWith('WARN') && l.includes('SHARD_END is not recorded'))).toBe(true);
  });

  it('a lease lost at checkpoint (ShutdownException): LeaseLostError for the processor, no more deliveries, then shutdown(ZOMBIE) once', async () => {
    const errors: unknown[] = [];
    const h = await connect((calls) => ({
      ...recording(calls),
      processRecords: async ({ records, checkpointer }) => {
        calls.push(`processRecords ${records.length}`);
        await checkpointer.checkpoint().catch((error) => {
          errors.push(error);
          throw error;
        });
      },
    }));
    await initialize(h);
    h.peer.send({ action: 'processRecords', records: [record(1)] });
    await h.peer.next();
    h.peer.send({ action: 'checkpoint', sequenceNumber: SEQ(1), error: 'ShutdownException' });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    expect(errors[0]).toBeInstanceOf(LeaseLostError);
    // The checkpointer's LeaseLostError, passed on by the processor, is the engine's: no processorFailed.
    expect(h.events.filter((e) => (e as { type: string }).type === 'processorFailed')).toEqual([]);

    h.peer.send({ action: 'processRecords', records: [record(2)] });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    h.peer.send({ action: 'leaseLost' });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'leaseLost' });
    expect(h.calls.filter((c) => c !== `initialize shardId-000000000001 TRIM_HORIZON`)).toEqual([
      'processRecords 1',
      'shutdown ZOMBIE without checkpointer',
    ]);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'leaseLost', shardId: 'shardId-000000000001' }));
  });

  it('gives the lease up after processingRetry.maxAttempts failures: shutdown(ZOMBIE), lease evicted, later batches not delivered', async () => {
    const h = await connect(
      (calls) => ({
        ...recording(calls),
        processRecords: ({ records }) => {
          calls.push(`processRecords ${records.length}`);
          throw new Error('poison');
        },
      }),
      { processingRetry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } },
    );
    await initialize(h);
    h.peer.send({ action: 'processRecords', records: [record(1)] });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    h.peer.send({ action: 'processRecords', records: [record(2)] });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    expect(h.calls.filter((c) => c.startsWith('processRecords'))).toEqual(['processRecords 1', 'processRecords 1']);
    expect(h.calls).toContain('shutdown ZOMBIE without checkpointer');
    expect(h.given.lease).toEqual(['shardId-000000000001']);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', reason: 'GAVE_UP' }));
    expect(h.logs.some((l) => l.startsWith('ERROR') && l.includes('failed 2 times; giving the lease up'))).toBe(true);
  });

  it('a graceful stop ends the retries of a failing batch; its records are not covered by the REQUESTED checkpoint', async () => {
    const shutdowns: ShutdownInput[] = [];
    let failures = 0;
    const h = await connect(
      (calls) => ({
        ...recording(calls),
        processRecords: async ({ records, checkpointer }) => {
          if (records[0].sequenceNumber === SEQ(2)) {
            failures++;
            throw new Error('still failing');
          }
          await checkpointer.checkpoint();
        },
        shutdown: async (input) => {
          shutdowns.push(input);
          await input.checkpointer!.checkpoint();
        },
      }),
      { processingRetry: { baseDelayMs: 50, maxDelayMs: 50 } },
    );
    await initialize(h);
    h.peer.send({ action: 'processRecords', records: [record(1)] });
    await h.peer.next();
    h.peer.send({ action: 'checkpoint', sequenceNumber: SEQ(1), error: null });
    await h.peer.next();
    h.peer.send({ action: 'processRecords', records: [record(2)] });
    await waitFor(() => failures >= 2, 'the failing batch retried');
    h.session.requestStop();
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    h.peer.send({ action: 'processRecords', records: [record(3)] });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'processRecords' });
    h.peer.send({ action: 'shutdownRequested' });
    expect(await h.peer.next()).toEqual({ action: 'checkpoint', sequenceNumber: SEQ(1), subSequenceNumber: 0 });
    h.peer.send({ action: 'checkpoint', sequenceNumber: SEQ(1), error: null });
    expect(await h.peer.next()).toEqual({ action: 'status', responseFor: 'shutdownRequested' });
    expect(shutdowns.map((s) => s.reason)).toEqual(['REQUESTED']);
  });

  it('drops a line that is not a protocol action, and a closed connection mid-checkpoint rejects with LeaseLostError, then ZOMBIE', async () => {
    const errors: unknown[] = [];
    const h = await connect((calls) => ({
      ...recording(calls),
      processRecords: async ({ checkpointer }) => {
        await checkpointer.checkpoint().catch((error) => void errors.push(error));
      },
    }));
    h.peer.send('this is not json');
    h.peer.send({ no: 'action' });
    await initialize(h);
    expect(h.logs.filter((l) => l.includes('not a protocol action'))).toHaveLength(2);
    h.peer.send({ action: 'processRecords', records: [record(1)] });
    expect(await h.peer.next()).toMatchObject({ action: 'checkpoint' });
    h.peer.socket.destroy();
    await h.session.closed;
    expect(errors[0]).toBeInstanceOf(LeaseLostError);
    expect(h.calls).toContain('shutdown ZOMBIE without checkpointer');
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'leaseLost' }));
  });

  it('a processor that cannot be built is retried like a failing batch, with the shard in the log', async () => {
    let attempts = 0;
    const h = await connect((calls) => {
      if (attempts++ < 1) throw new Error('DI failure');
      return recording(calls);
    });
    await initialize(h);
    expect(attempts).toBe(2);
    expect(h.logs.find((l) => l.startsWith('ERROR'))).toContain('building the processor on orders/shardId-000000000001 failed (attempt 1)');
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'processorFailed', call: 'factory', attempt: 1, error: new Error('DI failure') }),
    );
  });

  it('marks the user records of a KPL aggregate (one sequence number, several records) with their subSequenceNumber, 0 included', () => {
    const records = toKinesisRecords([
      record(1),
      record(2, { subSequenceNumber: 0 }),
      record(2, { subSequenceNumber: 1 }),
      record(3, { subSequenceNumber: 4 }),
    ]);
    expect(records.map((r) => [r.sequenceNumber.slice(-1), r.subSequenceNumber])).toEqual([
      ['1', undefined],
      ['2', 0],
      ['2', 1],
      ['3', 4],
    ]);
  });
});
