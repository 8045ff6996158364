import { KinesisWorkerConfigError } from './errors';
import type { KinesisRecordProcessor } from './processor';

/** A processor must at least have processRecords; initialize and shutdown are optional. */
export function assertProcessor(candidate: unknown, what: string): asserts candidate is KinesisRecordProcessor {
  const target = candidate as Partial<Record<keyof KinesisRecordProcessor, unknown>> | undefined;
  if (!target || typeof target.processRecords !== 'function') {
    throw new KinesisWorkerConfigError(
      'processor',
      `${what} has no processRecords({ shardId, records, checkpointer }) method; implement KinesisRecordProcessor.`,
    );
  }
  for (const optional of ['initialize', 'shutdown'] as const) {
    if (target[optional] !== undefined && typeof target[optional] !== 'function') {
      throw new KinesisWorkerConfigError('processor', `${what} has a ${optional} that is not a method.`);
    }
  }
}
