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
 * Bodies up to this size are assembled in one buffer reused from call to call (a full GetRecords
 * answer, 10 MB of data, is ~14 MB of JSON); larger ones, which Kinesis does not send, get their own.
 */
const MAX_REUSED_BODY_BYTES = 16 * 1024 * 1024;
let reusedBody = Buffer.allocUnsafeSlow(0);

/**
 * The body as text. Its chunks are copied into one buffer that is reused, then decoded as UTF-8 at once
 * (so that a character split between two chunks decodes right). Buffer.concat would allocate a fresh
 * buffer of the body's size on every call: at 64 busy shards that is ~1 GB a minute of short-lived
 * external memory, each allocation faulting in fresh pages and pushing the GC. Reusing one buffer is
 * safe because the copy and the decoding run in one synchronous stretch; the buffer keeps the size of
 * the largest body seen (at most MAX_REUSED_BODY_BYTES) for the life of the process.
 *
 * Decoding pure-ASCII bodies as latin1 instead was measured and rejected: Node makes a latin1 string
 * over ~1 MB an external string, and JSON.parse of it was slower than UTF-8 decoding plus JSON.parse
 * (Node 20's UTF-8 decoder has a SIMD fast path for ASCII).
 */
function bodyText(chunks: readonly Buffer[]): string {
  if (chunks.length === 1) return chunks[0].toString('utf8');
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  if (length > MAX_REUSED_BODY_BYTES) return Buffer.concat(chunks, length).toString('utf8');
  if (reusedBody.length < length)
    reusedBody = Buffer.allocUnsafeSlow(Math.min(MAX_REUSED_BODY_BYTES, Math.max(length, reusedBody.length * 2)));
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(reusedBody, offset);
  return reusedBody.toString('utf8', 0, length);
}

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
      if (context.commandName !== 'GetRecordsCommand' || response?.statusCode !== 200 || !(response.body instanceof Readable))
        return result;
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
      (context as Record<symbol, unknown>)[PARSED] = parse(JSON.parse(bodyText(chunks)) as WireOutput);
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

/**
 * The records parsed from JSON become the SDK's records in place (Data decoded from base64 once, the
 * timestamp a Date): no second object and no second array per record. Fields the service did not send
 * stay absent, as in the SDK's own output.
 */
function parse(wire: WireOutput): Partial<GetRecordsCommandOutput> {
  const records = wire.Records ?? [];
  for (const record of records as unknown as Record<string, unknown>[]) {
    const arrival = record.ApproximateArrivalTimestamp;
    if (arrival !== undefined) record.ApproximateArrivalTimestamp = new Date(Math.round(Number(arrival) * 1000));
    if (typeof record.Data === 'string') record.Data = Buffer.from(record.Data, 'base64');
  }
  return {
    Records: records as unknown as _Record[],
    NextShardIterator: wire.NextShardIterator ?? undefined,
    MillisBehindLatest: wire.MillisBehindLatest,
    ChildShards: wire.ChildShards,
  };
}
