import { Readable } from 'node:stream';
import type { GetRecordsCommandOutput, KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import type { WireFormat } from '../../../core/options';
import type * as CborGetRecords from './cbor-get-records';

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
 *
 * With wireFormat 'cbor', a third one (build step, before signing) sends GetRecords as CBOR
 * (cbor-get-records.ts); the answer is read by its content type, CBOR or JSON, whichever the service
 * chose. A CBOR error answer is handed to the SDK as the equivalent JSON body, so that its typed
 * exceptions, and the retries that follow them, are the same on both formats.
 */
export function useFastGetRecords(client: KinesisClient, wireFormat: WireFormat = 'json'): void {
  // Loaded only when asked for: cbor-x costs ~20 ms and ~4 MB of RSS to load.
  const cbor =
    wireFormat === 'cbor'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, see above
        (require('./cbor-get-records') as typeof CborGetRecords)
      : undefined;
  if (cbor) {
    const { CBOR_CONTENT_TYPE, cborRequestBody } = cbor;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        const json = jsonText(request.body);
        if (context.commandName === 'GetRecordsCommand' && request.headers && json !== undefined) {
          const body = cborRequestBody(json);
          for (const name of Object.keys(request.headers))
            if (/^(content-type|content-length|accept)$/i.test(name)) delete request.headers[name];
          request.headers['content-type'] = CBOR_CONTENT_TYPE;
          request.headers.accept = CBOR_CONTENT_TYPE;
          request.headers['content-length'] = String(body.byteLength);
          request.body = body;
        }
        return next(args);
      },
      { step: 'build', priority: 'low', name: 'kinesisWorkerCborGetRecordsRequest', tags: ['KINESIS_WORKER'] },
    );
  }
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; headers?: Record<string, string>; body?: unknown };
      if (context.commandName !== 'GetRecordsCommand' || !(response?.body instanceof Readable)) return result;
      const inCbor = cbor?.isCbor(response.headers?.['content-type']) ?? false;
      if (response.statusCode !== 200 && !inCbor) return result;
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
      if (!cbor || !inCbor) {
        (context as Record<symbol, unknown>)[PARSED] = parse(JSON.parse(bodyText(chunks)) as WireOutput);
        response.body = Readable.from([EMPTY_BODY]);
        return result;
      }
      // CBOR byte strings come out as views of the body: it gets a buffer of its own (see cbor-get-records.ts).
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      response.headers!['content-type'] = 'application/x-amz-json-1.1';
      if (response.statusCode !== 200) {
        response.body = Readable.from([cbor.errorBodyAsJson(body)]);
        return result;
      }
      (context as Record<symbol, unknown>)[PARSED] = cbor.getRecordsOutputFromCbor(cbor.decodeCbor(body));
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

/** The serialised JSON request body: a string, or its UTF-8 bytes (recent SDKs send a Uint8Array). */
function jsonText(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return undefined;
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
