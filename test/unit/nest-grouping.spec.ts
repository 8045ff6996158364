import { KinesisWorkerConfigError } from '../../lib/core/errors';
import { resolveWorkerOptions } from '../../lib/core/resolve-options';
import { groupByLeaseTable, type ProcessorEntry } from '../../lib/kinesis-worker.grouping';

const processor = { processRecords() {} };
const entry = (processorName: string, streamName: string, tableName: string, extra: object = {}): ProcessorEntry => ({
  processorName,
  tableName,
  options: { appName: tableName, workerId: 'w', streamName, ...extra },
  createProcessor: () => ({ ...processor, name: processorName }) as never,
});

describe('Nest processors grouped by lease table', () => {
  it('keeps a lone processor on the single-stream format', () => {
    const [binding] = groupByLeaseTable([entry('Orders', 'orders', 'app')]);
    expect(binding.options).toMatchObject({ streamName: 'orders' });
    expect(binding.options.streams).toBeUndefined();
  });

  it('keeps a lone processor with multiStream: true on the multi-stream format (adding a processor later keeps the format)', () => {
    const [binding] = groupByLeaseTable([entry('Orders', 'orders', 'app', { multiStream: true, region: 'eu-west-1' })]);
    expect(binding.options).toMatchObject({ streamName: 'orders', multiStream: true });
    expect(resolveWorkerOptions(binding.options)).toMatchObject({ streams: ['orders'], multiStream: true });
  });

  it('refuses two processors on one lease table without multiStream: true, naming both, the table and the option', () => {
    let error: unknown;
    try {
      groupByLeaseTable([entry('Orders', 'orders', 'app'), entry('Payments', 'payments', 'app'), entry('Other', 'orders', 'other-app')]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('multiStream');
    expect((error as Error).message).toMatch(
      /Orders \(stream 'orders'\) and Payments \(stream 'payments'\) share the lease table 'app'.*Set multiStream: true in KinesisWorkerModule\.forRoot.*its own appName/,
    );
    // One of the two saying so is not enough: the table is the worker's, and so is the option.
    expect(() =>
      groupByLeaseTable([entry('Orders', 'orders', 'app', { multiStream: true }), entry('Payments', 'payments', 'app')]),
    ).toThrow(/'multiStream'/);
  });

  it('runs the processors of one appName with multiStream: true in one worker of several streams and routes each shard by its stream', async () => {
    const ordersEvents: unknown[] = [];
    const bindings = groupByLeaseTable([
      entry('Orders', 'orders', 'app', { multiStream: true, onEvent: (e: unknown) => ordersEvents.push(e) }),
      entry('Payments', 'payments', 'app', { multiStream: true }),
      entry('Other', 'orders', 'other-app'),
    ]);
    expect(bindings).toHaveLength(2);
    const [shared] = bindings;
    expect(shared.processorName).toBe('Orders, Payments');
    expect(shared.options).toMatchObject({ streams: ['orders', 'payments'], multiStream: true });
    expect(shared.options.streamName).toBeUndefined();
    expect(await shared.createProcessor({ streamName: 'payments', shardId: 'shardId-000000000000', workerId: 'w' })).toMatchObject({
      name: 'Payments',
    });
    expect(await shared.createProcessor({ streamName: 'orders', shardId: 'shardId-000000000000', workerId: 'w' })).toMatchObject({
      name: 'Orders',
    });
    shared.options.onEvent!({ type: 'shardEnded', shardId: 's', childShardIds: [], workerId: 'w', streamName: 'payments' });
    shared.options.onEvent!({ type: 'shardEnded', shardId: 's', childShardIds: [], workerId: 'w', streamName: 'orders' });
    expect(ordersEvents).toHaveLength(1);
  });

  it('refuses two processors of one stream in one application', () => {
    expect(() => groupByLeaseTable([entry('A', 'orders', 'app'), entry('B', 'orders', 'app')])).toThrow(/A and B both consume 'orders'/);
  });

  it('refuses processors of one worker that disagree on a worker option, naming it', () => {
    let error: unknown;
    try {
      groupByLeaseTable([
        entry('A', 'orders', 'app', { multiStream: true, failoverTimeMs: 5000 }),
        entry('B', 'payments', 'app', { multiStream: true, failoverTimeMs: 9000 }),
      ]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('failoverTimeMs');
    expect((error as Error).message).toMatch(/share the lease table 'app'.*set failoverTimeMs differently/);
  });
});
