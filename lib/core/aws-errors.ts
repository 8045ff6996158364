const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'KMSThrottlingException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_HTTP2_ERROR']);

interface AwsLikeError {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Throttling, 5xx, timeouts and dropped connections: worth another try. */
export function isTransientAwsError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as AwsLikeError;
  if (e.$retryable) return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  return isWrappedNetworkError(error);
}

/**
 * The SDK wraps a thrown value that fails its `instanceof Error` check (Node's own socket errors seen
 * from another V8 realm, as under jest's vm contexts) into a plain Error whose message keeps the name
 * and code: recognise those, so that a dropped connection is transient wherever the engine runs.
 */
function isWrappedNetworkError(error: unknown): boolean {
  const message = (error as { message?: unknown }).message;
  if (typeof message !== 'string' || !message.startsWith('AWS SDK error wrapper for ')) return false;
  return [...TRANSIENT_NAMES, ...TRANSIENT_CODES].some((token) => message.includes(token));
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as AwsLikeError | undefined)?.name === 'ConditionalCheckFailedException';
}

export function isResourceNotFound(error: unknown): boolean {
  return (error as AwsLikeError | undefined)?.name === 'ResourceNotFoundException';
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
