import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { sleep } from '../core/sleep';

/** Creates a stream and waits until it is ACTIVE. */
export async function createStream(kinesis: KinesisClient, streamName: string, shardCount: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  await waitForStreamActive(kinesis, streamName);
}

export async function waitForStreamActive(kinesis: KinesisClient, streamName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`Stream ${streamName} is not ACTIVE after ${timeoutMs} ms.`);
    await sleep(50);
  }
}

export interface PutResult {
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** PutRecords in chunks of 500, retrying entries the service rejected, until all are in. */
export async function putRecords(
  kinesis: KinesisClient,
  streamName: string,
  entries: readonly { partitionKey: string; data: Buffer | string; explicitHashKey?: string }[],
): Promise<PutResult[]> {
  const results: PutResult[] = [];
  for (let offset = 0; offset < entries.length; offset += 500) {
    let pending = entries
      .slice(offset, offset + 500)
      .map(({ partitionKey, data, explicitHashKey }) => ({ partitionKey, data: Buffer.from(data), explicitHashKey }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const requests: PutRecordsRequestEntry[] = pending.map((entry) => ({
        PartitionKey: entry.partitionKey,
        Data: entry.data,
        ...(entry.explicitHashKey !== undefined ? { ExplicitHashKey: entry.explicitHashKey } : {}),
      }));
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: requests }));
      const failed: typeof pending = [];
      out.Records!.forEach((result, i) => {
        if (result.ErrorCode) failed.push(pending[i]);
        else
          results.push({
            partitionKey: pending[i].partitionKey,
            data: pending[i].data,
            shardId: result.ShardId!,
            sequenceNumber: result.SequenceNumber!,
          });
      });
      if (failed.length > 0 && attempt >= 20) throw new Error(`PutRecords kept failing for ${failed.length} records.`);
      if (failed.length > 0) await sleep(50 * attempt);
      pending = failed;
    }
  }
  return results;
}
