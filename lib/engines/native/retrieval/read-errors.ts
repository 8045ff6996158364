/**
 * What a failed GetShardIterator or GetRecords means for the reader of one shard.
 * - iterator: the iterator is no longer valid; get a new one from the known position.
 * - not-found: the shard or the stream is not found; the fetcher asks ListShards which one it is
 *   (a shard closed and past retention has ended; a missing stream is waited for).
 * - permission: the worker may not read (IAM or KMS): no retry will help until someone fixes it.
 * - retry: throttling, 5xx, timeouts, dropped connections: try again with the same iterator.
 */
export type ReadErrorKind = 'iterator' | 'not-found' | 'permission' | 'retry';

/** The operations a shard's reader calls, for naming the IAM action a denial is about. */
export type ReadOperation = 'GetShardIterator' | 'GetRecords' | 'ListShards' | 'SubscribeToShard';

/** What a KMS error asks for: the stream is encrypted, and reading it needs its key. */
const KMS_FIX: Readonly<Record<string, string>> = {
  KMSAccessDeniedException: "kms:Decrypt on the stream's KMS key",
  KMSDisabledException: "an enabled KMS key (the stream's key is disabled)",
  KMSNotFoundException: "the stream's KMS key (it was not found)",
  KMSInvalidStateException: "a usable KMS key (the stream's key is in an invalid state, e.g. pending deletion)",
  KMSOptInRequired: 'a KMS subscription for the account (KMSOptInRequired)',
};
const CREDENTIALS_FIX: Readonly<Record<string, string>> = {
  UnrecognizedClientException: 'valid credentials (the service does not know the access key)',
  ExpiredTokenException: 'fresh credentials (the session token expired)',
};

interface ErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function classifyReadError(error: unknown): ReadErrorKind {
  const { name, message, $metadata } = (error ?? {}) as ErrorShape;
  if (name === 'ExpiredIteratorException') return 'iterator';
  // Real Kinesis answers a malformed or foreign iterator with InvalidArgumentException.
  if (name === 'InvalidArgumentException' && /iterator/i.test(message ?? '')) return 'iterator';
  // kinesis-local answers an iterator it cannot read with HTTP 500, an empty body and no request id,
  // which the SDK names "Unknown". A typed 5xx (InternalFailure, ServiceUnavailable: what Kinesis
  // sends) says nothing about the iterator and keeps it.
  if ((name === 'Unknown' || name === 'UnknownError') && $metadata?.httpStatusCode === 500) return 'iterator';
  if (name === 'ResourceNotFoundException') return 'not-found';
  if (name === 'AccessDeniedException' || (name && (name in KMS_FIX || name in CREDENTIALS_FIX))) return 'permission';
  return 'retry';
}

/** The permission or fix a permission error asks for, for the log line and status(). */
export function missingPermission(error: unknown, operation: ReadOperation): string {
  const name = (error as ErrorShape | undefined)?.name ?? '';
  return KMS_FIX[name] ?? CREDENTIALS_FIX[name] ?? `kinesis:${operation} on the stream`;
}
