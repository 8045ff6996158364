/**
 * What a failed GetShardIterator or GetRecords means for the reader of one shard.
 * - iterator: the iterator is no longer valid; get a new one from the known position.
 * - shard-gone: the shard no longer exists (closed and past retention): it has ended, as the Java KCL
 *   treats it, so that its children start.
 * - permission: the worker may not read (IAM or KMS): no retry will help until someone fixes it.
 * - retry: throttling, 5xx, timeouts, dropped connections: try again with the same iterator.
 */
export type ReadErrorKind = 'iterator' | 'shard-gone' | 'permission' | 'retry';

const PERMISSION: Readonly<Record<string, string>> = {
  AccessDeniedException: 'kinesis:GetRecords and kinesis:GetShardIterator on the stream',
  UnrecognizedClientException: 'valid credentials (the service does not know the access key)',
  ExpiredTokenException: 'fresh credentials (the session token expired)',
  KMSAccessDeniedException: 'kms:Decrypt on the stream\'s KMS key',
  KMSDisabledException: 'an enabled KMS key (the stream\'s key is disabled)',
  KMSNotFoundException: 'the stream\'s KMS key (it was not found)',
  KMSInvalidStateException: 'a usable KMS key (the stream\'s key is in an invalid state)',
  KMSOptInRequired: 'a KMS subscription for the account',
};

export function classifyReadError(error: unknown): ReadErrorKind {
  const { name, message } = error as { name?: string; message?: string };
  if (name === 'ExpiredIteratorException') return 'iterator';
  // Real Kinesis answers a malformed or foreign iterator with InvalidArgumentException.
  if (name === 'InvalidArgumentException' && /iterator/i.test(message ?? '')) return 'iterator';
  // kinesis-local answers a stale iterator with an untyped HTTP 500 ("UnknownError"); a typed 5xx
  // (InternalFailure, ServiceUnavailable) says nothing about the iterator and keeps it.
  if (name === 'Unknown' || name === 'UnknownError') return 'iterator';
  if (name === 'ResourceNotFoundException') return 'shard-gone';
  if (name && name in PERMISSION) return 'permission';
  return 'retry';
}

/** The permission or fix a permission error asks for, for the log line and status(). */
export function missingPermission(error: unknown): string {
  return PERMISSION[(error as { name?: string }).name ?? ''] ?? 'read access to the stream';
}
