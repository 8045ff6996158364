/* eslint-disable @typescript-eslint/require-await -- stubbed lease table and Kinesis calls answer at once */
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import type { InitialPosition } from '../../../lib/core/options';
import type { LeaseTable } from '../../../lib/leases/lease-table';
import { ShardSync } from '../../../lib/leases/shard-sync';

const silent = { log() {}, warn() {}, error() {} };

/** A stream that was split once: a closed parent and its two open children. */
const resharded: Shard[] = [
  {
    ShardId: 'shardId-000000000000',
    HashKeyRange: { StartingHashKey: '0', EndingHashKey: '9' },
    SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '5' },
  },
  {
    ShardId: 'shardId-000000000001',
    ParentShardId: 'shardId-000000000000',
    HashKeyRange: { StartingHashKey: '0', EndingHashKey: '4' },
    SequenceNumberRange: { StartingSequenceNumber: '6' },
  },
  {
    ShardId: 'shardId-000000000002',
    ParentShardId: 'shardId-000000000000',
    HashKeyRange: { StartingHashKey: '5', EndingHashKey: '9' },
    SequenceNumberRange: { StartingSequenceNumber: '7' },
  },
];

/** The leases a fresh application's shard sync creates: shard id → checkpoint and parents. */
async function createdLeases(initialPosition: InitialPosition) {
  const kinesis = { send: async () => ({ Shards: resharded }) } as unknown as KinesisClient;
  const created = new Map<string, { checkpoint: string; parents: readonly string[] }>();
  const table = {
    listLeases: async () => [],
    createLeaseIfNotExists: async (lease: {
      leaseKey: string;
      checkpoint: { sequenceNumber: string };
      parentShardIds: readonly string[];
    }) => {
      created.set(lease.leaseKey, { checkpoint: lease.checkpoint.sequenceNumber, parents: lease.parentShardIds });
      return true;
    },
  } as unknown as LeaseTable;
  await new ShardSync(kinesis, table, 'orders', initialPosition, false, silent).run();
  return Object.fromEntries(created);
}

describe('ShardSync on a fresh application', () => {
  it('a timestamp start writes the AT_TIMESTAMP sentinel on root leases, closed roots included, and children follow their parent from TRIM_HORIZON', async () => {
    expect(await createdLeases({ timestamp: new Date('2026-01-31T12:00:00Z') })).toEqual({
      'shardId-000000000000': { checkpoint: 'AT_TIMESTAMP', parents: [] },
      'shardId-000000000001': { checkpoint: 'TRIM_HORIZON', parents: ['shardId-000000000000'] },
      'shardId-000000000002': { checkpoint: 'TRIM_HORIZON', parents: ['shardId-000000000000'] },
    });
  });

  it('LATEST starts only the open shards, TRIM_HORIZON every shard from the root', async () => {
    expect(await createdLeases('LATEST')).toEqual({
      'shardId-000000000001': { checkpoint: 'LATEST', parents: [] },
      'shardId-000000000002': { checkpoint: 'LATEST', parents: [] },
    });
    expect(await createdLeases('TRIM_HORIZON')).toMatchObject({ 'shardId-000000000000': { checkpoint: 'TRIM_HORIZON', parents: [] } });
  });
});
