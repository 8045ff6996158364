/* eslint-disable @typescript-eslint/require-await -- stubbed lease table and Kinesis calls answer at once */
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import { checkLeaseFormat } from '../../../lib/leases/lease-format';
import { leaseFromItem, newLeaseItem, rowProblem, shardIdOf, toLeaseStatus, type Lease } from '../../../lib/leases/lease';
import type { LeaseTable } from '../../../lib/leases/lease-table';
import { ShardSync } from '../../../lib/leases/shard-sync';
import {
  multiStreamLeaseKey,
  parseStreamIdentifier,
  serializeStreamIdentifier,
  streamIdentifierOf,
} from '../../../lib/leases/stream-identifier';
import { multiStreamScope, singleStreamScope } from '../../../lib/leases/stream-lease-scope';

/**
 * A row exactly as the Java KCL 2.x (DynamoDBMultiStreamLeaseSerializer) writes it in multi-stream mode:
 * the lease key `<account>:<stream>:<creationEpoch>:<shardId>`, the stream identifier in the attribute
 * `streamName`, the shard id in `shardId`; parentShardId and childShardIds hold plain shard ids.
 */
const javaMultiStreamRow = {
  leaseKey: { S: '123456789012:orders:1617000000:shardId-000000000003' },
  streamName: { S: '123456789012:orders:1617000000' },
  shardId: { S: 'shardId-000000000003' },
  leaseOwner: { S: 'java-worker-1' },
  leaseCounter: { N: '42' },
  ownerSwitchesSinceCheckpoint: { N: '0' },
  checkpoint: { S: '49590338271490256608559692538361571095921575989136588898' },
  checkpointSubSequenceNumber: { N: '0' },
  parentShardId: { SS: ['shardId-000000000001'] },
  startingHashKey: { S: '0' },
  endingHashKey: { S: '170141183460469231731687303715884105727' },
};

const silent = { log() {}, warn() {}, error() {} };

describe('the Java KCL stream identifier and multi-stream lease key', () => {
  it('serializes account:streamName:creationEpoch and parses it back', () => {
    const id = { accountId: '123456789012', streamName: 'orders', creationEpochSeconds: 1617000000 };
    expect(serializeStreamIdentifier(id)).toBe('123456789012:orders:1617000000');
    expect(parseStreamIdentifier('123456789012:orders:1617000000')).toEqual(id);
    expect(multiStreamLeaseKey('123456789012:orders:1617000000', 'shardId-000000000003')).toBe(
      '123456789012:orders:1617000000:shardId-000000000003',
    );
  });

  it.each(['orders', 'shardId-000000000000', '123:orders', 'abc:orders:1', '123:orders:0', '123:or:ders:5'])(
    'refuses %s as a stream identifier',
    (text) => {
      expect(parseStreamIdentifier(text)).toBeUndefined();
    },
  );

  it('a stream scope recognises its own keys and rows only', () => {
    const orders = multiStreamScope({ accountId: '123456789012', streamName: 'orders', creationEpochSeconds: 1617000000 });
    expect(orders.identity('shardId-000000000003')).toEqual({
      leaseKey: '123456789012:orders:1617000000:shardId-000000000003',
      streamIdentifier: '123456789012:orders:1617000000',
      shardId: 'shardId-000000000003',
    });
    expect(orders.shardIdOfKey('123456789012:orders:1617000000:shardId-000000000003')).toBe('shardId-000000000003');
    // The same stream name created again (another epoch) is another stream.
    expect(orders.shardIdOfKey('123456789012:orders:1617009999:shardId-000000000003')).toBeUndefined();
    expect(orders.owns({ streamIdentifier: '123456789012:orders:1617009999' })).toBe(false);
    expect(orders.owns({})).toBe(false);
    expect(singleStreamScope('orders').owns({})).toBe(true);
    expect(singleStreamScope('orders').owns({ streamIdentifier: '123456789012:orders:1617000000' })).toBe(false);
  });

  it('takes the account from the stream ARN and the creation epoch in whole seconds', () => {
    expect(
      streamIdentifierOf('orders', 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders', new Date('2021-03-29T06:40:00.750Z')),
    ).toEqual({
      accountId: '123456789012',
      streamName: 'orders',
      creationEpochSeconds: 1617000000,
    });
    // kinesis-local answers with account 000000000000.
    expect(streamIdentifierOf('s', 'arn:aws:kinesis:us-east-1:000000000000:stream/s', new Date(1795862965760))?.creationEpochSeconds).toBe(
      1795862965,
    );
    expect(streamIdentifierOf('orders', undefined, new Date())).toBeUndefined();
    expect(streamIdentifierOf('orders', 'arn:aws:kinesis:eu-west-1:123456789012:stream/other', new Date())).toBeUndefined();
    expect(streamIdentifierOf('orders', 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders', undefined)).toBeUndefined();
  });
});

describe('multi-stream lease rows', () => {
  it('reads a row the Java KCL wrote in multi-stream mode', () => {
    expect(rowProblem(javaMultiStreamRow)).toBeUndefined();
    const lease = leaseFromItem(javaMultiStreamRow);
    expect(lease).toMatchObject({
      leaseKey: '123456789012:orders:1617000000:shardId-000000000003',
      streamIdentifier: '123456789012:orders:1617000000',
      shardId: 'shardId-000000000003',
      leaseOwner: 'java-worker-1',
      leaseCounter: 42,
      parentShardIds: ['shardId-000000000001'],
    });
    expect(shardIdOf(lease)).toBe('shardId-000000000003');
    expect(toLeaseStatus(lease)).toMatchObject({ shardId: 'shardId-000000000003', streamName: 'orders' });
  });

  it('writes a new lease with exactly the attributes of the Java serializer', () => {
    const scope = multiStreamScope({ accountId: '123456789012', streamName: 'orders', creationEpochSeconds: 1617000000 });
    const item = newLeaseItem({
      ...scope.identity('shardId-000000000003'),
      checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
      parentShardIds: ['shardId-000000000001'],
      hashKeyRange: { startingHashKey: '0', endingHashKey: '170141183460469231731687303715884105727' },
    });
    expect(item).toEqual({
      leaseKey: { S: '123456789012:orders:1617000000:shardId-000000000003' },
      streamName: { S: '123456789012:orders:1617000000' },
      shardId: { S: 'shardId-000000000003' },
      leaseCounter: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
      checkpoint: { S: 'TRIM_HORIZON' },
      checkpointSubSequenceNumber: { N: '0' },
      parentShardId: { SS: ['shardId-000000000001'] },
      startingHashKey: { S: '0' },
      endingHashKey: { S: '170141183460469231731687303715884105727' },
    });
    expect(leaseFromItem(item)).toMatchObject({ streamIdentifier: scope.streamIdentifier, shardId: 'shardId-000000000003' });
  });

  it('a single-stream lease keeps the single-stream attributes only', () => {
    const item = newLeaseItem({
      ...singleStreamScope('orders').identity('shardId-000000000000'),
      checkpoint: { sequenceNumber: 'LATEST', subSequenceNumber: 0 },
      parentShardIds: [],
    });
    expect(Object.keys(item).sort()).toEqual([
      'checkpoint',
      'checkpointSubSequenceNumber',
      'leaseCounter',
      'leaseKey',
      'ownerSwitchesSinceCheckpoint',
    ]);
  });

  it.each([
    [{ ...javaMultiStreamRow, shardId: undefined }, /needs both streamName and shardId, found only streamName/],
    [{ ...javaMultiStreamRow, streamName: { S: 'orders' } }, /not a stream identifier/],
    [{ ...javaMultiStreamRow, shardId: { S: 'shardId-000000000009' } }, /leaseKey is not/],
    [{ ...javaMultiStreamRow, streamName: { N: '1' } }, /streamName is .* not a string/],
  ])('names a broken multi-stream row: %#', (item, problem) => {
    const row = Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined));
    expect(rowProblem(row as never)).toMatch(problem);
  });
});

describe('the lease table format is checked against the options', () => {
  const multi = leaseFromItem(javaMultiStreamRow);
  const single: Lease = {
    ...leaseFromItem({
      ...javaMultiStreamRow,
      leaseKey: { S: 'shardId-000000000000' },
      streamName: undefined as never,
      shardId: undefined as never,
    }),
  };
  const choice = (multiStream: boolean) => ({ multiStream, streams: ['orders', 'payments'], appName: 'app', tableName: 'app' });

  it('accepts an empty table and a table of its own format', () => {
    expect(() => checkLeaseFormat([], choice(true))).not.toThrow();
    expect(() => checkLeaseFormat([multi], choice(true))).not.toThrow();
    expect(() => checkLeaseFormat([{ ...single, streamIdentifier: undefined, shardId: undefined }], choice(false))).not.toThrow();
  });

  it('refuses a single-stream table in multi-stream mode, naming the option and the fix', () => {
    const plain: Lease = { ...single, streamIdentifier: undefined, shardId: undefined };
    const error = catchError(() => checkLeaseFormat([plain], choice(true)));
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect(error.option).toBe('streams');
    expect(error.message).toMatch(/holds single-stream leases \(keys such as 'shardId-000000000000'/);
    expect(error.message).toMatch(/its own appName/);
  });

  it('refuses a multi-stream table in single-stream mode', () => {
    const error = catchError(() => checkLeaseFormat([multi], choice(false)));
    expect(error.option).toBe('streamName');
    expect(error.message).toMatch(/holds multi-stream leases/);
    expect(error.message).toMatch(/streams: \['orders'\]/);
  });
});

describe('ShardSync of one stream in a multi-stream table', () => {
  const ordersScope = multiStreamScope({ accountId: '123456789012', streamName: 'orders', creationEpochSeconds: 1617000000 });
  const shards: Shard[] = [
    {
      ShardId: 'shardId-000000000001',
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: '9' },
      SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '5' },
    },
    {
      ShardId: 'shardId-000000000003',
      ParentShardId: 'shardId-000000000001',
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: '4' },
      SequenceNumberRange: { StartingSequenceNumber: '6' },
    },
    {
      ShardId: 'shardId-000000000004',
      ParentShardId: 'shardId-000000000001',
      HashKeyRange: { StartingHashKey: '5', EndingHashKey: '9' },
      SequenceNumberRange: { StartingSequenceNumber: '7' },
    },
  ];

  it('sees its own leases by shard id, ignores another stream with the same shard ids, creates the missing child with the multi-stream key', async () => {
    const parent = leaseFromItem({
      ...javaMultiStreamRow,
      leaseKey: { S: '123456789012:orders:1617000000:shardId-000000000001' },
      shardId: { S: 'shardId-000000000001' },
      parentShardId: undefined as never,
      checkpoint: { S: 'SHARD_END' },
      childShardIds: { SS: ['shardId-000000000003', 'shardId-000000000004'] },
    });
    const child = leaseFromItem(javaMultiStreamRow);
    // Another stream of the application with the same shard ids: never confused with this one's.
    const otherStream = leaseFromItem({
      ...javaMultiStreamRow,
      leaseKey: { S: '123456789012:payments:1617000500:shardId-000000000004' },
      streamName: { S: '123456789012:payments:1617000500' },
      shardId: { S: 'shardId-000000000004' },
    });
    const created: ReturnType<typeof newLeaseItem>[] = [];
    const deleted: string[] = [];
    const table = {
      listLeases: async () => [parent, child, otherStream],
      createLeaseIfNotExists: async (lease: Parameters<typeof newLeaseItem>[0]) => (created.push(newLeaseItem(lease)), true),
      deleteFinishedLease: async (key: string) => (deleted.push(key), true),
    } as unknown as LeaseTable;
    const kinesis = { send: async () => ({ Shards: shards }) } as unknown as KinesisClient;
    const result = await new ShardSync(kinesis, table, ordersScope, 'TRIM_HORIZON', true, silent).run();
    expect(result.created).toEqual(['shardId-000000000004']);
    expect(created).toEqual([
      expect.objectContaining({
        leaseKey: { S: '123456789012:orders:1617000000:shardId-000000000004' },
        streamName: { S: '123456789012:orders:1617000000' },
        shardId: { S: 'shardId-000000000004' },
        checkpoint: { S: 'TRIM_HORIZON' },
        parentShardId: { SS: ['shardId-000000000001'] },
      }),
    ]);
    // The new child has not started: the parent stays until both children have.
    expect(deleted).toEqual([]);
  });
});

function catchError(run: () => void): KinesisWorkerConfigError {
  try {
    run();
  } catch (error) {
    return error as KinesisWorkerConfigError;
  }
  throw new Error('expected an error');
}
