import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import { checkOptionKeys } from '../../../lib/core/option-keys';
import type { StreamWorkerOptions } from '../../../lib/core/options';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';

const base: StreamWorkerOptions = { appName: 'failure-policy-options', streamName: 'orders', region: 'eu-west-1' };

function rejection(
  options: object,
  check: (options: object) => unknown = (o) => resolveWorkerOptions({ ...base, ...o }),
): KinesisWorkerConfigError {
  try {
    check(options);
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('failurePolicy and onFailedRecord', () => {
  it('default: no limit, no bisection — a failed record is retried for ever, as before', () => {
    expect(resolveWorkerOptions(base).failurePolicy).toEqual({
      maxRetryAttempts: Infinity,
      maxRecordAgeMs: Infinity,
      bisectBatchOnError: false,
      shedRecordsOlderThanMs: Infinity,
      shedTo: 'destination',
    });
  });

  it('takes the limits as given (0 retries: the first failure goes to the destination)', () => {
    const onFailedRecord = () => undefined;
    const resolved = resolveWorkerOptions({
      ...base,
      failurePolicy: { maxRetryAttempts: 0, maxRecordAgeMs: 60_000, bisectBatchOnError: true },
      onFailedRecord,
    });
    expect(resolved.failurePolicy).toMatchObject({ maxRetryAttempts: 0, maxRecordAgeMs: 60_000, bisectBatchOnError: true });
    expect(resolved.onFailedRecord).toBe(onFailedRecord);
  });

  it.each([
    [{ failurePolicy: 3 }, 'failurePolicy', /expected an object such as \{ maxRetryAttempts: 3/],
    [
      { failurePolicy: { maxRetryAttempts: -1 } },
      'failurePolicy.maxRetryAttempts',
      /whole number from 0 to 10000, or Infinity.*tried again/,
    ],
    [{ failurePolicy: { maxRetryAttempts: 1.5 } }, 'failurePolicy.maxRetryAttempts', /whole number/],
    [{ failurePolicy: { maxRecordAgeMs: 0 } }, 'failurePolicy.maxRecordAgeMs', /from 1 to .*older than this/],
    [{ failurePolicy: { bisectBatchOnError: 'yes' } }, 'failurePolicy.bisectBatchOnError', /true or false/],
    [{ engine: 'kcl', failurePolicy: { maxRetryAttempts: 2 } }, 'failurePolicy', /not supported by the kcl engine.*processingRetry/],
    [
      { failurePolicy: { shedRecordsOlderThanMs: 60_000 } },
      'failurePolicy.shedRecordsOlderThanMs',
      /there is none.*onFailedBatch.*onFailedRecord.*shedTo: 'skip'/,
    ],
    [{ failurePolicy: { shedRecordsOlderThanMs: 60_000, shedTo: 'drop' } }, 'failurePolicy.shedTo', /'destination'.*'skip'/],
    [{ onFailedRecord: 'dlq' }, 'onFailedRecord', /expected a function such as async \(\{ shardId, record, error \}\)/],
  ])('%j is refused at bootstrap, naming %s and the fix', (options, option, message) => {
    const error = rejection(options);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('lag shedding: to a destination when one is set, or skipped only when shedTo says so', () => {
    const onFailedBatch = () => undefined;
    expect(resolveWorkerOptions({ ...base, onFailedBatch, failurePolicy: { shedRecordsOlderThanMs: 60_000 } }).failurePolicy).toMatchObject(
      {
        shedRecordsOlderThanMs: 60_000,
        shedTo: 'destination',
      },
    );
    expect(
      resolveWorkerOptions({ ...base, failurePolicy: { shedRecordsOlderThanMs: 60_000, shedTo: 'skip' } }).failurePolicy,
    ).toMatchObject({
      shedTo: 'skip',
    });
  });

  it('a misspelt setting names the nearest one', () => {
    const error = rejection({ failurePolicy: { maxRetryAttempt: 2 } }, (o) => checkOptionKeys({ ...base, ...o }));
    expect(error.message).toMatch(/did you mean failurePolicy\.maxRetryAttempts\?/);
  });
});
