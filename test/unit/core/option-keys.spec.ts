import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import { nearestKey } from '../../../lib/core/option-keys';
import type { StreamWorkerOptions } from '../../../lib/core/options';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';

const base: StreamWorkerOptions = { appName: 'option-keys', streamName: 'orders', region: 'eu-west-1' };

function rejection(options: object): KinesisWorkerConfigError {
  try {
    resolveWorkerOptions({ ...base, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('unknown option keys are refused, with the nearest valid name', () => {
  it.each([
    [{ failovertimeMs: 5_000 }, 'failovertimeMs', /unknown option; did you mean failoverTimeMs\?/],
    [{ failoverTime: 5_000 }, 'failoverTime', /did you mean failoverTimeMs\?/],
    [{ maxRecord: 10 }, 'maxRecord', /did you mean maxRecords\?/],
    [{ intialPosition: 'LATEST' }, 'intialPosition', /did you mean initialPosition\?/],
    [{ multistream: true }, 'multistream', /did you mean multiStream\?/],
    [{ kcl: { verison: '3.1.3' } }, 'kcl.verison', /did you mean kcl\.version\?/],
    [{ kcl: { jarDir: '/x' } }, 'kcl.jarDir', /did you mean kcl\.jarsDir\?/],
    [{ checkpointRetry: { maxAttempt: 3 } }, 'checkpointRetry.maxAttempt', /did you mean checkpointRetry\.maxAttempts\?/],
    [{ processingRetry: { baseDelay: 10 } }, 'processingRetry.baseDelay', /did you mean processingRetry\.baseDelayMs\?/],
    [{ retrieval: { mdoe: 'fanout' } }, 'retrieval.mdoe', /did you mean retrieval\.mode\?/],
    [{ autoCheckpoint: { everyRecord: 10 } }, 'autoCheckpoint.everyRecord', /did you mean autoCheckpoint\.everyRecords\?/],
    [{ initialPosition: { timestmap: new Date() } }, 'initialPosition.timestmap', /did you mean initialPosition\.timestamp\?/],
  ])('%j', (options, option, message) => {
    const error = rejection(options);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('a key near to none lists the valid ones', () => {
    const top = rejection({ colour: 'blue' });
    expect(top.option).toBe('colour');
    expect(top.message).toMatch(/unknown option; the valid options are .*appName.*failoverTimeMs/);
    const retry = rejection({ checkpointRetry: { jitter: true } });
    expect(retry.option).toBe('checkpointRetry.jitter');
    expect(retry.message).toMatch(/the valid checkpointRetry settings are baseDelayMs, maxAttempts, maxDelayMs\./);
  });

  it('leaves alone the objects handed to the AWS SDK and the MultiLangDaemon properties', () => {
    const resolved = resolveWorkerOptions({
      ...base,
      kinesis: { endpoint: 'http://127.0.0.1:1', customUserAgent: 'x', maxAttempts: 2, anyFutureSdkOption: 1 } as never,
      dynamodb: { endpoint: 'http://127.0.0.1:2', useFipsEndpoint: false, anyFutureSdkOption: 1 } as never,
      kcl: { properties: { timeoutInSeconds: 300 } },
      checkpointRetry: { maxAttempts: 3 },
      initialPosition: { timestamp: new Date(Date.now() - 1000) },
    });
    expect(resolved.kinesis).toMatchObject({ customUserAgent: 'x', anyFutureSdkOption: 1 });
    expect(resolved.dynamodb).toMatchObject({ anyFutureSdkOption: 1 });
  });

  it('suggests only names near enough', () => {
    expect(nearestKey('FAILOVERTIMEMS', ['failoverTimeMs', 'maxRecords'])).toBe('failoverTimeMs');
    expect(nearestKey('shardSyncIntervalMillis', ['shardSyncIntervalMs', 'maxRecords'])).toBe('shardSyncIntervalMs');
    expect(nearestKey('region', ['failoverTimeMs', 'maxRecords'])).toBeUndefined();
  });
});
