/**
 * GetRecords in CBOR (`application/x-amz-cbor-1.1`), the wire format the Java SDKs use: real Kinesis
 * sends `Data` as a CBOR byte string (no base64, no JSON string to build and parse) and timestamps as
 * tag 1 (epoch seconds, a float).
 *
 * The library, chosen by measurement (Node 20, one realistic GetRecords answer of 1000 records x 1 KB
 * in the shape real Kinesis sends, 1.17 MB of CBOR against 1.53 MB of JSON; ms per answer decoded into
 * records with Buffer payloads and Date timestamps, the mean of 1.5 s of back-to-back decoding, on the
 * shared 2-core machine, so ratios matter more than the absolutes):
 *   JSON.parse + base64 decode (the JSON path, fast-get-records.ts)   4.5 - 5.4 ms
 *   cbor-x 1.6.9 (MIT, CommonJS build, no engines limit, released 2026-11; pure JS, without its
 *     optional native cbor-extract, whose install script does not run here)  0.83 - 0.91 ms
 *   cbor-x with copyBuffers (one copy per payload)                    3.3 ms
 *   cborg 6.1.5 (Apache-2.0, ESM only)                                3.5 - 5.1 ms
 *   cbor2 2.3.0 (MIT)                                                 5.8 - 6.7 ms
 * cbor-x is 5-6x faster than the JSON path; the others are no faster than JSON. Its speed comes from
 * handing out byte strings as views (Buffer.subarray) of the answer's bytes instead of copies, so each
 * answer is decoded from a buffer of its own (never the JSON path's reused one), and a record's `data`
 * keeps that answer's buffer alive as long as it is referenced (what a payload of a few KB decoded
 * from base64 does to Node's 8 KB pool slab, at the scale of one answer). cbor-x's native string
 * extractor (cbor-extract, optional) is not needed: it speeds up long text strings, and the only
 * text here is sequence numbers, partition keys and the iterator.
 *
 * End to end (bench scenario wire-format, docs/performance.md): 0.6x the consumer's CPU per MB of the
 * JSON path on an unpaced 16-shard backlog of 1 KB records, no clear difference at the read limit.
 *
 * kinesis-local answers CBOR in its own shape (Data a base64 text string, timestamps untagged integer
 * milliseconds), and the service has been seen answering a CBOR request in JSON: each field is
 * normalised by what it is, and the caller checks the answer's content type.
 */
import { Decoder, Encoder } from 'cbor-x';
import type { _Record, GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';

export const CBOR_CONTENT_TYPE = 'application/x-amz-cbor-1.1';

// Plain maps as objects; no cbor-x record extension (tag 105), which Kinesis does not speak.
// int64AsNumber (in cbor-x's README, not in its typings): kinesis-local sends its millisecond timestamps
// as 64-bit integers, which cbor-x would otherwise decode as BigInts.
const DECODER_OPTIONS = { useRecords: false, mapsAsObjects: true, int64AsNumber: true };
const decoder = new Decoder(DECODER_OPTIONS);
const encoder = new Encoder({ useRecords: false });

/** Below this an untagged number cannot be epoch milliseconds of a record (it is before 1973): seconds. */
const SECONDS_BELOW = 1e11;

/** The JSON body the SDK serialised (`{"ShardIterator": ..., "Limit": ...}`) as a CBOR request body. */
export function cborRequestBody(json: string): Uint8Array {
  return encoder.encode(JSON.parse(json === '' ? '{}' : json));
}

export function isCbor(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().startsWith(CBOR_CONTENT_TYPE);
}

export function decodeCbor(body: Buffer): unknown {
  return decoder.decode(body);
}

/**
 * A decoded successful answer as the SDK's output. Records become the SDK's records in place: Data a
 * Buffer (a byte string as it came, a base64 text string decoded), the timestamp a Date (tag 1 is a
 * Date already; an untagged number, a 64-bit integer from kinesis-local, is milliseconds, or seconds if it is too small to be milliseconds).
 */
export function getRecordsOutputFromCbor(decoded: unknown): Partial<GetRecordsCommandOutput> {
  const wire = (decoded ?? {}) as Record<string, unknown>;
  const records = (Array.isArray(wire.Records) ? wire.Records : []) as Record<string, unknown>[];
  for (const record of records) {
    const data = record.Data;
    if (typeof data === 'string') record.Data = Buffer.from(data, 'base64');
    else if (data instanceof Uint8Array && !Buffer.isBuffer(data)) record.Data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const arrival =
      typeof record.ApproximateArrivalTimestamp === 'bigint'
        ? Number(record.ApproximateArrivalTimestamp)
        : record.ApproximateArrivalTimestamp;
    if (typeof arrival === 'number')
      record.ApproximateArrivalTimestamp = new Date(Math.round(arrival < SECONDS_BELOW ? arrival * 1000 : arrival));
  }
  return {
    Records: records as unknown as _Record[],
    NextShardIterator: (wire.NextShardIterator as string | null | undefined) ?? undefined,
    MillisBehindLatest: wire.MillisBehindLatest === undefined ? undefined : Number(wire.MillisBehindLatest),
    ChildShards: wire.ChildShards as GetRecordsCommandOutput['ChildShards'],
  };
}

/**
 * An error answer in CBOR (`{__type, message}`) as the JSON body the SDK's error deserializer reads,
 * so that both formats raise the same typed exceptions (throttling, expired iterator, ...) and the
 * same retries follow. An answer that does not decode is passed on as an empty JSON object: the SDK
 * then names the error from the HTTP status (and the x-amzn-errortype header, if any), as it does for
 * a JSON answer it cannot read.
 */
export function errorBodyAsJson(body: Buffer): Buffer {
  let decoded: unknown;
  try {
    decoded = body.length === 0 ? {} : decoder.decode(body);
  } catch {
    decoded = {};
  }
  const fields = decoded !== null && typeof decoded === 'object' ? (decoded as Record<string, unknown>) : {};
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (typeof value === 'string') json[key] = value;
  return Buffer.from(JSON.stringify(json));
}
