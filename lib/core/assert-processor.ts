import { KinesisWorkerConfigError } from './errors';
import { isPerRecordProcessor, type AnyRecordProcessor, type KinesisPerRecordProcessor, type KinesisRecordProcessor } from './processor';

type Members = Partial<Record<keyof KinesisRecordProcessor | keyof KinesisPerRecordProcessor, unknown>>;

/**
 * A processor implements exactly one of processRecords (batches) and processRecord (one record at a
 * time); initialize and shutdown are optional. Both at once would leave it unsaid which one the engine
 * calls, so that is refused too.
 */
export function assertProcessor(candidate: unknown, what: string): asserts candidate is AnyRecordProcessor {
  const target = candidate as Members | undefined;
  const batch = typeof target?.processRecords === 'function';
  const perRecord = typeof target?.processRecord === 'function';
  if (!target || (!batch && !perRecord)) {
    throw new KinesisWorkerConfigError(
      'processor',
      `${what} has neither processRecords({ shardId, records, checkpointer }) nor processRecord(record, context); ` +
        'implement KinesisRecordProcessor (batches) or KinesisPerRecordProcessor (one record at a time).',
    );
  }
  if (batch && perRecord) {
    throw new KinesisWorkerConfigError(
      'processor',
      `${what} has both processRecords and processRecord, so which one the engine should call is ambiguous; ` +
        'keep processRecords for batches (you checkpoint) or processRecord for one record at a time (the engine checkpoints, ' +
        'and concurrency can run several at once), and rename or remove the other.',
    );
  }
  for (const optional of ['initialize', 'shutdown'] as const) {
    if (target[optional] !== undefined && typeof target[optional] !== 'function') {
      throw new KinesisWorkerConfigError('processor', `${what} has a ${optional} that is not a method.`);
    }
  }
}

/** The kcl engine runs batch processors only: the MultiLangDaemon hands the Node side one batch at a time. */
export function assertBatchProcessor(processor: AnyRecordProcessor, what: string): asserts processor is KinesisRecordProcessor {
  if (!isPerRecordProcessor(processor)) return;
  throw new KinesisWorkerConfigError(
    'processor',
    `${what} implements processRecord, which the kcl engine does not run (the Java MultiLangDaemon hands the Node side one batch at a time ` +
      "and the processor checkpoints it): use engine: 'native' (the default), or implement processRecords({ records, checkpointer }) instead.",
  );
}
