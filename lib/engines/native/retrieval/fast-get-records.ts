import { Readable } from 'node:stream';
import type { GetRecordsCommandOutput, KinesisClient, _Record } from '@aws-sdk/client-kinesis';

interface WireRecord {
  SequenceNumber: string;
  ApproximateArrivalTimestamp?: number | string;
  Data?: string;
  PartitionKey?: string;
  EncryptionType?: string;
}

interface WireOutput {
  Records?: WireRecord[];
  NextShardIterator?: string;
  MillisBehindLatest?: number;
  ChildShards?: GetRecordsCommandOutput['ChildShards'];
}

const PARSED = Symbol('kinesis-worker:getRecords');
const EMPTY_BODY = Buffer.from('{}');

/**
 * GetRecords is the one hot call. The SDK's generic JSON deserializer spends more time per record
 * than everything else together (a regular expression over every base64 payload, a schema walk per
 * field), so a successful GetRecords response is parsed here with JSON.parse and Buffer's native
 * base64 decoder, into the very shape the SDK would return. Errors, and every other operation, go
 * through the SDK untouched. Two middlewares: the inner one takes the raw body before the SDK's
 * deserializer sees it, the outer one puts the parsed result into the command's output.
 */
export function useFastGetRecords(client: KinesisClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; body?: unknown };
      if (context.commandName !== 'GetRecordsCommand' || response?.statusCode !== 200 || !(response.body instanceof Readable)) return result;
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
      (context as Record<symbol, unknown>)[PARSED] = parse(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireOutput);
      response.body = Readable.from([EMPTY_BODY]);
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'kinesisWorkerFastGetRecordsParse', tags: ['KINESIS_WORKER'] },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const parsed = (context as Record<symbol, unknown>)[PARSED] as Partial<GetRecordsCommandOutput> | undefined;
      if (parsed) Object.assign(result.output as object, parsed);
      return result;
    },
    { step: 'initialize', priority: 'high', name: 'kinesisWorkerFastGetRecordsOutput', tags: ['KINESIS_WORKER'] },
  );
}

function parse(wire: WireOutput): Partial<GetRecordsCommandOutput> {
  const records: _Record[] = (wire.Records ?? []).map((record) => ({
    SequenceNumber: record.SequenceNumber,
    ApproximateArrivalTimestamp:
      record.ApproximateArrivalTimestamp === undefined ? undefined : new Date(Math.round(Number(record.ApproximateArrivalTimestamp) * 1000)),
    Data: record.Data === undefined ? undefined : Buffer.from(record.Data, 'base64'),
    PartitionKey: record.PartitionKey,
    EncryptionType: record.EncryptionType as _Record['EncryptionType'],
  }));
  return {
    Records: records,
    NextShardIterator: wire.NextShardIterator ?? undefined,
    MillisBehindLatest: wire.MillisBehindLatest,
    ChildShards: wire.ChildShards,
  };
}
