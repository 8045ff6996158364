import { KinesisWorkerConfigError } from '../../lib/core/errors';
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

  it('runs the processors of one appName in one worker of several streams and routes each shard by its stream', async () => {
    const ordersEvents: unknown[] = [];
    const bindings = groupByLeaseTable([
      entry('Orders', 'orders', 'app', { onEvent: (e: unknown) => ordersEvents.push(e) }),
      entry('Payments', 'payments', 'app'),
      entry('Other', 'orders', 'other-app'),
    ]);
    expect(bindings).toHaveLength(2);
    const [shared] = bindings;
    expect(shared.processorName).toBe('Orders, Payments');
    expect(shared.options).toMatchObject({ streams: ['orders', 'payments'] });
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
      groupByLeaseTable([entry('A', 'orders', 'app', { failoverTimeMs: 5000 }), entry('B', 'payments', 'app', { failoverTimeMs: 9000 })]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('failoverTimeMs');
    expect((error as Error).message).toMatch(/share the lease table 'app'.*set failoverTimeMs differently/);
  });
});
