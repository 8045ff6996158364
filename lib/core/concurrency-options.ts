import { KinesisWorkerConfigError } from './errors';
import { RECORD_ORDERINGS, type ConcurrencyOptions, type EngineName, type ResolvedConcurrencyOptions } from './options';

export const DEFAULT_CONCURRENCY: ResolvedConcurrencyOptions = {
  maxInFlightPerShard: 1,
  ordering: 'partitionKey',
  maxInFlightRecords: 10_000,
  maxInFlightBytes: 64 * 1024 * 1024,
};

/** GetRecords returns at most 10000 records: more in flight per shard than that would never be used. */
const MAX_PER_SHARD = 10_000;

function wholeNumber(option: string, value: unknown, fallback: number, { max = Number.MAX_SAFE_INTEGER, fix = '' } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new KinesisWorkerConfigError(
      `concurrency.${option}`,
      `expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}${fix ? `; ${fix}` : ''}.`,
    );
  }
  return value;
}

/**
 * Validates `concurrency` and fills in its defaults. The kcl engine refuses it: the MultiLangDaemon hands
 * the Node side one batch at a time and waits for it, and its checkpoints are the processor's own.
 */
export function resolveConcurrency(value: ConcurrencyOptions | undefined, engine: EngineName): ResolvedConcurrencyOptions {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KinesisWorkerConfigError(
      'concurrency',
      `expected an object such as { maxInFlightPerShard: 32, ordering: 'partitionKey' }, got ${JSON.stringify(value)}. Leave it unset for one record at a time.`,
    );
  }
  if (engine === 'kcl') {
    throw new KinesisWorkerConfigError(
      'concurrency',
      "is not supported by the kcl engine: the Java MultiLangDaemon hands the Node side one batch at a time and the processor checkpoints it itself. Use engine: 'native' (the default) for concurrency and processRecord, or remove concurrency.",
    );
  }
  const maxInFlightPerShard = wholeNumber('maxInFlightPerShard', value.maxInFlightPerShard, DEFAULT_CONCURRENCY.maxInFlightPerShard, {
    max: MAX_PER_SHARD,
    fix: 'it is how many records of one shard run at once (1 = one at a time, the default)',
  });
  const ordering = value.ordering ?? DEFAULT_CONCURRENCY.ordering;
  if (!RECORD_ORDERINGS.includes(ordering)) {
    throw new KinesisWorkerConfigError(
      'concurrency.ordering',
      `expected 'partitionKey' (same key one after another, in sequence order) or 'none' (no order), got ${JSON.stringify(value.ordering)}.`,
    );
  }
  const maxInFlightRecords = wholeNumber('maxInFlightRecords', value.maxInFlightRecords, DEFAULT_CONCURRENCY.maxInFlightRecords, {
    fix: 'it bounds the records read but not finished across all shards of the worker',
  });
  if (maxInFlightRecords < maxInFlightPerShard) {
    throw new KinesisWorkerConfigError(
      'concurrency.maxInFlightRecords',
      `(${maxInFlightRecords}) is below maxInFlightPerShard (${maxInFlightPerShard}), so a shard could never run that many at once; raise maxInFlightRecords to at least ${maxInFlightPerShard} (better: shards × maxInFlightPerShard) or lower maxInFlightPerShard.`,
    );
  }
  const maxInFlightBytes = wholeNumber('maxInFlightBytes', value.maxInFlightBytes, DEFAULT_CONCURRENCY.maxInFlightBytes, {
    fix: 'it bounds the data bytes of the records read but not finished across all shards of the worker (default 64 MiB)',
  });
  return { maxInFlightPerShard, ordering, maxInFlightRecords, maxInFlightBytes };
}
