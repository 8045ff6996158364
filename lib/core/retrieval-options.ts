import { KinesisWorkerConfigError } from './errors';
import { RETRIEVAL_KEYS, rejectUnknownKeys } from './option-keys';
import { RETRIEVAL_MODES, WIRE_FORMATS, type ResolvedRetrievalOptions, type RetrievalOptions, type WireFormat } from './options';

/**
 * GetRecords stays JSON unless asked: see docs/performance.md#wire-format for the measurement behind it.
 */
export const DEFAULT_WIRE_FORMAT: WireFormat = 'json';

/**
 * Default of retrieval.subscribeTimeoutMs: how long SubscribeToShard may take to answer, and then to send
 * its first event. Kinesis answers at once and sends the first event right after; without a bound a
 * blackholed or half-open connection would hold the lease while nothing is read (the default HTTP/2
 * handler's session timeout is 10 minutes, a user's handler may have none).
 */
export const SUBSCRIBE_TIMEOUT_MS = 10_000;

/**
 * Defaults of retrieval.maxBufferedRecords and maxBufferedBytes: what the native engine holds fetched but not
 * yet processed, worker-wide. 32 MiB of payloads keeps a worker that is behind on 64 shards of 1 KB records
 * within a few hundred MB (docs/retrieval.md#memory, docs/performance.md); 50000 records bounds the record
 * objects when records are small.
 */
export const DEFAULT_MAX_BUFFERED_RECORDS = 50_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/** Kinesis' rule for consumer names. */
const CONSUMER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
/** arn:aws:kinesis:region:account:stream/name/consumer/consumer-name:creation-epoch */
const CONSUMER_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:\d+$/;

/** Validates the retrieval option; the consumer name defaults to appName (what the Java KCL registers). */
export function resolveRetrieval(
  value: RetrievalOptions | undefined,
  appName: string,
  streams: readonly string[] = [],
): ResolvedRetrievalOptions {
  if (value === undefined) return { mode: 'polling', wireFormat: DEFAULT_WIRE_FORMAT, ...resolveReadBuffer({}) };
  if (value === null || typeof value !== 'object') {
    throw new KinesisWorkerConfigError(
      'retrieval',
      `expected { mode: 'polling' | 'fanout', consumerName?, consumerArn?, requestHandler?, subscribeTimeoutMs?, wireFormat?: 'json' | 'cbor' }, got ${JSON.stringify(value)}.`,
    );
  }
  rejectUnknownKeys('retrieval', value, RETRIEVAL_KEYS);
  const buffer = resolveReadBuffer(value);
  const wireFormat = value.wireFormat ?? DEFAULT_WIRE_FORMAT;
  if (!WIRE_FORMATS.includes(wireFormat)) {
    throw new KinesisWorkerConfigError(
      'retrieval.wireFormat',
      `expected 'json' or 'cbor' (the body format of GetRecords calls), got ${JSON.stringify(value.wireFormat)}.`,
    );
  }
  const mode = value.mode ?? 'polling';
  if (!RETRIEVAL_MODES.includes(mode)) {
    throw new KinesisWorkerConfigError('retrieval.mode', `expected 'polling' or 'fanout', got ${JSON.stringify(value.mode)}.`);
  }
  if (mode === 'polling') {
    const fanoutOnly = (['consumerName', 'consumerArn', 'requestHandler', 'subscribeTimeoutMs'] as const).find(
      (key) => value[key] !== undefined,
    );
    if (fanoutOnly)
      throw new KinesisWorkerConfigError(
        `retrieval.${fanoutOnly}`,
        `is a fan-out setting, but retrieval.mode is 'polling'; set mode: 'fanout' or remove it.`,
      );
    return { mode, wireFormat, ...buffer };
  }
  const consumerName = value.consumerName ?? appName;
  if (typeof consumerName !== 'string' || !CONSUMER_NAME.test(consumerName)) {
    throw new KinesisWorkerConfigError(
      value.consumerName === undefined ? 'appName' : 'retrieval.consumerName',
      `${JSON.stringify(consumerName)} is not a valid stream consumer name (1-128 characters of a-z, A-Z, 0-9, _ . -)${value.consumerName === undefined ? '; the consumer is named after appName unless retrieval.consumerName is set' : ''}.`,
    );
  }
  if (value.consumerArn !== undefined && (typeof value.consumerArn !== 'string' || !CONSUMER_ARN.test(value.consumerArn))) {
    throw new KinesisWorkerConfigError(
      'retrieval.consumerArn',
      `expected a stream consumer ARN such as arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/orders-app:1700000000, got ${JSON.stringify(value.consumerArn)}. Leave it unset to register (or reuse) the consumer named retrieval.consumerName.`,
    );
  }
  const handler = value.requestHandler as unknown;
  if (
    handler !== undefined &&
    !(handler !== null && typeof handler === 'object' && typeof (handler as { handle?: unknown }).handle === 'function')
  ) {
    throw new KinesisWorkerConfigError(
      'retrieval.requestHandler',
      'expected an SDK request handler (an object with handle()), such as new NodeHttp2Handler() or, for kinesis-local, new NodeHttpHandler() from @smithy/node-http-handler.',
    );
  }
  if (value.consumerArn !== undefined && streams.length > 1) {
    // A consumer belongs to one stream; several streams need one consumer each.
    throw new KinesisWorkerConfigError(
      'retrieval.consumerArn',
      `a consumer ARN belongs to one stream, and this worker consumes ${streams.length} (${streams.join(', ')}). Leave it unset: a consumer named retrieval.consumerName (default the appName) is registered, or reused, on each stream.`,
    );
  }
  const subscribeTimeoutMs = value.subscribeTimeoutMs ?? SUBSCRIBE_TIMEOUT_MS;
  if (
    typeof subscribeTimeoutMs !== 'number' ||
    !Number.isInteger(subscribeTimeoutMs) ||
    subscribeTimeoutMs < 100 ||
    subscribeTimeoutMs > 300_000
  ) {
    throw new KinesisWorkerConfigError(
      'retrieval.subscribeTimeoutMs',
      `expected whole milliseconds from 100 to 300000 (how long SubscribeToShard may take to answer and send its first event; default ${SUBSCRIBE_TIMEOUT_MS}), got ${JSON.stringify(value.subscribeTimeoutMs)}.`,
    );
  }
  return {
    mode,
    wireFormat,
    ...buffer,
    consumerName,
    consumerArn: value.consumerArn,
    requestHandler: value.requestHandler,
    subscribeTimeoutMs,
  };
}

/** retrieval.maxBufferedRecords and maxBufferedBytes: whole numbers from 1, defaults above. */
function resolveReadBuffer(value: RetrievalOptions): { maxBufferedRecords: number; maxBufferedBytes: number } {
  const whole = (option: 'maxBufferedRecords' | 'maxBufferedBytes', fallback: number, what: string): number => {
    const given = value[option];
    if (given === undefined) return fallback;
    if (typeof given !== 'number' || !Number.isSafeInteger(given) || given < 1) {
      throw new KinesisWorkerConfigError(
        `retrieval.${option}`,
        `expected a whole number from 1 (${what} fetched but not yet processed, across all shards of the worker; default ${fallback}), got ${JSON.stringify(given)}.`,
      );
    }
    return given;
  };
  return {
    maxBufferedRecords: whole('maxBufferedRecords', DEFAULT_MAX_BUFFERED_RECORDS, 'the records'),
    maxBufferedBytes: whole('maxBufferedBytes', DEFAULT_MAX_BUFFERED_BYTES, 'the data bytes of the records'),
  };
}
