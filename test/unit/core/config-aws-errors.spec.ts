import {
  describeError,
  errorTrace,
  isAccessDenied,
  isCredentialsError,
  isRegionMissing,
  isRejectedCredentials,
  isThrottling,
  isTransientAwsError,
} from '../../../lib/core/aws-errors';

/** Shaped like the SDK's service exceptions: a name, and the HTTP status in $metadata. */
function serviceError(name: string, status = 400, extra: object = {}): Error {
  return Object.assign(new Error(`${name} from the service`), { name, $metadata: { httpStatusCode: status }, $fault: 'client', ...extra });
}

describe('AWS error classifiers', () => {
  it('tells missing credentials, refused credentials and missing permissions apart', () => {
    const cases: [Error, string][] = [
      [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'unresolved'],
      [serviceError('AccessDeniedException'), 'denied'],
      [serviceError('UnrecognizedClientException'), 'rejected'],
      [serviceError('ExpiredTokenException'), 'rejected'],
      [serviceError('InvalidSignatureException'), 'rejected'],
      [serviceError('ResourceNotFoundException'), 'none'],
    ];
    for (const [error, kind] of cases) {
      const seen = [
        isCredentialsError(error) && 'unresolved',
        isAccessDenied(error) && 'denied',
        isRejectedCredentials(error) && 'rejected',
      ].filter(Boolean);
      expect({ name: error.name, seen }).toEqual({ name: error.name, seen: kind === 'none' ? [] : [kind] });
      // None of them is worth retrying.
      expect(isTransientAwsError(error)).toBe(false);
    }
  });

  it('recognises throttling by name, by the SDK throttling flag and by HTTP 429', () => {
    expect(isThrottling(serviceError('ProvisionedThroughputExceededException'))).toBe(true);
    expect(isThrottling(serviceError('LimitExceededException'))).toBe(true);
    expect(isThrottling(serviceError('SomethingElse', 400, { $retryable: { throttling: true } }))).toBe(true);
    expect(isThrottling(serviceError('TooManyRequests', 429))).toBe(true);
    expect(isThrottling(serviceError('InternalFailure', 500))).toBe(false);
    expect(isThrottling(serviceError('ValidationException'))).toBe(false);
  });

  it('keeps the transient rules: throttling, 5xx, timeouts and dropped connections', () => {
    expect(isTransientAwsError(serviceError('ThrottlingException'))).toBe(true);
    expect(isTransientAwsError(serviceError('InternalServerError', 500))).toBe(true);
    expect(isTransientAwsError(serviceError('Unknown', 503))).toBe(true);
    expect(isTransientAwsError(serviceError('TooManyRequests', 429))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientAwsError(serviceError('ValidationException'))).toBe(false);
    expect(isTransientAwsError(serviceError('ConditionalCheckFailedException'))).toBe(false);
    expect(isTransientAwsError(undefined)).toBe(false);
  });

  it("recognises the SDK's missing region", () => {
    expect(isRegionMissing(new Error('Region is missing'))).toBe(true);
    expect(isRegionMissing(new Error('Region is us-east-1'))).toBe(false);
  });

  it('describes an error by name and message only, never its raw HTTP response', () => {
    const error = serviceError('AccessDeniedException', 400, {
      $response: { body: 'SECRET-BODY', headers: { authorization: 'SECRET-HEADER' } },
    });
    expect(describeError(error)).toBe('AccessDeniedException: AccessDeniedException from the service');
    // An error-like object from another realm (not instanceof Error) reads the same way.
    expect(describeError({ name: 'ExpiredTokenException', message: 'expired', $response: { body: 'SECRET-BODY' } })).toBe(
      'ExpiredTokenException: expired',
    );
  });
});

describe('describeError leaves out what AWS and V8 quote of a request or a response', () => {
  it('drops the canonical request of a signature mismatch, whose headers carry the session token', () => {
    const message =
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n' +
      "The Canonical String for this request should have been\n'POST\n/\n\nhost:kinesis.eu-west-1.amazonaws.com\nx-amz-date:20261128T070000Z\nx-amz-security-token:TOKEN-123\nx-amz-target:Kinesis_20131202.GetRecords\n\nhost;x-amz-date;x-amz-security-token;x-amz-target\nabc'\n\n" +
      "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261128T070000Z\n20261128/eu-west-1/kinesis/aws4_request\ndef'\n";
    const described = describeError(serviceError('InvalidSignatureException', 400, { message }));
    expect(described).toMatch(/^InvalidSignatureException: The request signature we calculated does not match/);
    expect(described).not.toContain('TOKEN-123');
    expect(describeError(new Error('header x-amz-security-token: TOKEN-456 was refused'))).toBe(
      'Error: header x-amz-security-token: <redacted> was refused',
    );
  });

  it('drops the excerpt V8 quotes from a JSON body that does not parse', () => {
    let syntaxError: unknown;
    try {
      JSON.parse('{"Records":[{"Data":"UEFZTE9BRA=="},}],"NextShardIterator":"it"}');
    } catch (error) {
      syntaxError = error;
    }
    expect(String((syntaxError as Error).message)).toContain('"');
    expect(describeError(syntaxError)).toBe("SyntaxError: Unexpected token '}' is not valid JSON");
  });
});

describe('errorTrace', () => {
  it("keeps the frames of a processor's error but not the record V8 quotes in a JSON.parse message", () => {
    let error: unknown;
    try {
      JSON.parse('PAYLOAD123 of a record');
    } catch (thrown) {
      error = thrown;
    }
    const trace = errorTrace(error)!;
    expect(trace).toMatch(/^SyntaxError: /);
    expect(trace).toMatch(/\n\s+at /);
    expect(trace).not.toContain('PAYLOAD123');
    expect((error as Error).stack).toContain('PAYLOAD123');
  });
});
