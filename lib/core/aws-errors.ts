const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'KMSThrottlingException',
]);
const TRANSIENT_NAMES = new Set([
  ...THROTTLING_NAMES,
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_HTTP2_ERROR']);
/** The service understood who is calling, and says no: a missing IAM permission (or an SCP, a key policy, ...). */
const ACCESS_DENIED_NAMES = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'KMSAccessDeniedException']);
/** The service refused the credentials themselves: unknown key, wrong secret, expired session. */
const REJECTED_CREDENTIALS_NAMES = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredTokenException',
  'ExpiredToken',
  'RequestExpired',
]);
/** The SDK found no credentials at all (its default chain, or a provider function, gave up). Never sent. */
const UNRESOLVED_CREDENTIALS_NAMES = new Set(['CredentialsProviderError', 'TokenProviderError']);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: { throttling?: boolean } | boolean;
  $metadata?: { httpStatusCode?: number };
}

function asAwsError(error: unknown): AwsLikeError | undefined {
  return error && typeof error === 'object' ? error : undefined;
}

/** Throttling, 5xx, timeouts and dropped connections: worth another try. */
export function isTransientAwsError(error: unknown): boolean {
  const e = asAwsError(error);
  if (!e) return false;
  if (e.$retryable) return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  return isWrappedNetworkError(error);
}

/** The service (or the SDK's own rate limiter) asks the caller to slow down. */
export function isThrottling(error: unknown): boolean {
  const e = asAwsError(error);
  if (!e) return false;
  if (typeof e.$retryable === 'object' && e.$retryable?.throttling) return true;
  return (!!e.name && THROTTLING_NAMES.has(e.name)) || e.$metadata?.httpStatusCode === 429;
}

/** The credentials are valid, but an IAM policy does not allow the call. Retrying does not help. */
export function isAccessDenied(error: unknown): boolean {
  const name = asAwsError(error)?.name;
  return !!name && ACCESS_DENIED_NAMES.has(name);
}

/** The service did not accept the credentials: an unknown access key, a wrong secret, an expired session token. */
export function isRejectedCredentials(error: unknown): boolean {
  const name = asAwsError(error)?.name;
  return !!name && REJECTED_CREDENTIALS_NAMES.has(name);
}

/** No credentials could be found on this machine; the request never left the process. */
export function isCredentialsError(error: unknown): boolean {
  const name = asAwsError(error)?.name;
  return !!name && UNRESOLVED_CREDENTIALS_NAMES.has(name);
}

/** The SDK could not tell which region to call (its "Region is missing" error). */
export function isRegionMissing(error: unknown): boolean {
  return asAwsError(error)?.message === 'Region is missing';
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
  return asAwsError(error)?.name === 'ConditionalCheckFailedException';
}

export function isResourceNotFound(error: unknown): boolean {
  return asAwsError(error)?.name === 'ResourceNotFoundException';
}

/**
 * AWS answers a signature mismatch with the canonical request it expected, signed headers and their
 * values included: x-amz-security-token is one of them, so the session token would end up in the log.
 */
const CANONICAL_REQUEST = /\s*The Canonical String for this request should have been[\s\S]*$/;
const SECURITY_TOKEN = /(x-amz-security-token\s*[:=]\s*)[^\s'",;&]+/gi;
/** V8 quotes a slice of the text around a JSON syntax error; in a GetRecords answer that text is record data. */
const JSON_EXCERPT = /, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s;

function redact(name: string, message: string): string {
  let safe = message.replace(CANONICAL_REQUEST, ' (the canonical request AWS quoted is left out)').replace(SECURITY_TOKEN, '$1<redacted>');
  if (name === 'SyntaxError') safe = safe.replace(JSON_EXCERPT, ' is not valid JSON');
  return safe;
}

/**
 * One line for a log: the error's name and message, with what AWS or V8 quote of the request or the
 * response taken out. Never the error object itself, whose SDK fields ($response, the raw HTTP answer)
 * have no place in a log.
 */
export function describeError(error: unknown): string {
  const e = asAwsError(error);
  if (error instanceof Error || (e && typeof e.message === 'string')) {
    const name = e!.name ?? 'Error';
    return `${name}: ${redact(name, String(e!.message))}`;
  }
  return String(error);
}

/**
 * The stack of an error for a log line, with its message line(s) replaced by describeError's: a stack
 * repeats the message, and a message may quote a record (V8's JSON.parse quotes its input).
 */
export function errorTrace(error: unknown): string | undefined {
  const stack = (error as { stack?: unknown } | undefined)?.stack;
  if (typeof stack !== 'string') return undefined;
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return [describeError(error), ...frames].join('\n');
}
