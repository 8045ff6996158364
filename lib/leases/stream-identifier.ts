/**
 * The Java KCL's stream identifier of multi-stream mode (KCL 2.3+, class StreamIdentifier):
 * `<accountId>:<streamName>:<creationEpochSeconds>`. A lease key of that mode is the identifier, ':',
 * and the shard id, so that the shard ids of several streams never collide in one table.
 */
export interface StreamIdentifier {
  /** The AWS account that owns the stream (12 digits on AWS). */
  readonly accountId: string;
  readonly streamName: string;
  /** StreamCreationTimestamp in whole seconds since the epoch. */
  readonly creationEpochSeconds: number;
}

/** The Java KCL's own pattern: digits, a name without ':', digits. */
const SERIALIZED = /^([0-9]+):([^:]+):([0-9]+)$/;
/** arn:<partition>:kinesis:<region>:<account>:stream/<name> */
const STREAM_ARN = /^arn:aws[^:]*:kinesis:[-a-z0-9]+:([0-9]{12}):stream\/(.+)$/;

export function serializeStreamIdentifier(id: StreamIdentifier): string {
  return `${id.accountId}:${id.streamName}:${id.creationEpochSeconds}`;
}

export function parseStreamIdentifier(serialized: string): StreamIdentifier | undefined {
  const match = SERIALIZED.exec(serialized);
  if (!match) return undefined;
  const creationEpochSeconds = Number(match[3]);
  // The Java KCL refuses an epoch of 0 too.
  if (!Number.isSafeInteger(creationEpochSeconds) || creationEpochSeconds <= 0) return undefined;
  return { accountId: match[1], streamName: match[2], creationEpochSeconds };
}

/** MultiStreamLease.getLeaseKey: `<streamIdentifier>:<shardId>`. */
export function multiStreamLeaseKey(streamIdentifier: string, shardId: string): string {
  return `${streamIdentifier}:${shardId}`;
}

/**
 * The identifier of a stream from what DescribeStreamSummary returns: the account from the stream ARN
 * (no STS call needed), the creation epoch from StreamCreationTimestamp, in whole seconds as the Java
 * KCL's users pass it. Undefined when either is missing or the ARN is not a Kinesis stream ARN.
 */
export function streamIdentifierOf(
  streamName: string,
  streamArn: string | undefined,
  created: Date | undefined,
): StreamIdentifier | undefined {
  const arn = streamArn === undefined ? undefined : STREAM_ARN.exec(streamArn);
  if (!arn || arn[2] !== streamName || created === undefined || Number.isNaN(created.getTime())) return undefined;
  const creationEpochSeconds = Math.floor(created.getTime() / 1000);
  if (creationEpochSeconds <= 0) return undefined;
  return { accountId: arn[1], streamName, creationEpochSeconds };
}
