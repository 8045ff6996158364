import { assertProcessor } from '../../../lib/core/assert-processor';
import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import type { StreamWorkerOptions } from '../../../lib/core/options';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';

const base: StreamWorkerOptions = { appName: 'concurrency-options', streamName: 'orders', region: 'eu-west-1' };

function rejection(options: object): KinesisWorkerConfigError {
  try {
    resolveWorkerOptions({ ...base, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('concurrency options', () => {
  it('default: one record at a time per shard, in partition-key order, 10000 records and 64 MiB per worker', () => {
    expect(resolveWorkerOptions(base).concurrency).toEqual({
      maxInFlightPerShard: 1,
      ordering: 'partitionKey',
      maxInFlightRecords: 10_000,
      maxInFlightBytes: 64 * 1024 * 1024,
    });
  });

  it('takes what is given', () => {
    const { concurrency } = resolveWorkerOptions({
      ...base,
      concurrency: { maxInFlightPerShard: 32, ordering: 'none', maxInFlightRecords: 500, maxInFlightBytes: 1_000_000 },
    });
    expect(concurrency).toEqual({ maxInFlightPerShard: 32, ordering: 'none', maxInFlightRecords: 500, maxInFlightBytes: 1_000_000 });
  });

  it.each([
    [{ concurrency: 8 }, 'concurrency', /expected an object such as \{ maxInFlightPerShard: 32/],
    [{ concurrency: { maxInFlightPerShard: 0 } }, 'concurrency.maxInFlightPerShard', /whole number from 1 to 10000, got 0/],
    [{ concurrency: { maxInFlightPerShard: 2.5 } }, 'concurrency.maxInFlightPerShard', /got 2.5/],
    [{ concurrency: { ordering: 'key' } }, 'concurrency.ordering', /'partitionKey' .* or 'none' .*, got "key"/],
    [{ concurrency: { maxInFlightRecords: -1 } }, 'concurrency.maxInFlightRecords', /whole number/],
    [
      { concurrency: { maxInFlightPerShard: 64, maxInFlightRecords: 10 } },
      'concurrency.maxInFlightRecords',
      /\(10\) is below maxInFlightPerShard \(64\).*raise maxInFlightRecords to at least 64/,
    ],
    [{ concurrency: { maxInFlightBytes: '1mb' } }, 'concurrency.maxInFlightBytes', /got "1mb"/],
    [{ concurrency: { maxInflightPerShard: 8 } }, 'concurrency.maxInflightPerShard', /did you mean concurrency\.maxInFlightPerShard\?/],
    [{ concurency: { maxInFlightPerShard: 8 } }, 'concurency', /did you mean concurrency\?/],
    [{ engine: 'kcl', concurrency: { maxInFlightPerShard: 8 } }, 'concurrency', /not supported by the kcl engine.*engine: 'native'/],
  ])('%j is refused, naming %s and the fix', (options, option, message) => {
    const error = rejection(options);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });
});

describe('assertProcessor: processRecords or processRecord, exactly one', () => {
  it('accepts either contract', () => {
    expect(() => assertProcessor({ processRecords: () => undefined }, 'p')).not.toThrow();
    expect(() => assertProcessor({ processRecord: () => undefined }, 'p')).not.toThrow();
  });

  it('refuses neither, and both at once', () => {
    expect(() => assertProcessor({ initialize: () => undefined }, 'the processor X')).toThrow(
      /the processor X has neither processRecords.* nor processRecord\(record, context\)/,
    );
    expect(() => assertProcessor({ processRecords: () => undefined, processRecord: () => undefined }, 'the processor X')).toThrow(
      /has both processRecords and processRecord, so which one the engine should call is ambiguous/,
    );
  });
});
