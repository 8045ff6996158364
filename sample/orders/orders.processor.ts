import { Logger } from '@nestjs/common';
import {
  InjectShard,
  KinesisProcessor,
  type InitializeInput,
  type KinesisRecordProcessor,
  type ProcessRecordsInput,
  type ShardContext,
  type ShutdownInput,
} from '../../lib';
import { CustomerTotalsService } from './customer-totals.service';
import { decodeOrder } from './order-event';
import { ORDERS_STREAM } from './orders.constants';

/** One instance per shard, built by Nest: it injects the app's services like any provider. */
@KinesisProcessor(ORDERS_STREAM)
export class OrdersProcessor implements KinesisRecordProcessor {
  private readonly logger: Logger;

  constructor(
    private readonly totals: CustomerTotalsService,
    @InjectShard() shard: ShardContext,
  ) {
    this.logger = new Logger(`OrdersProcessor ${shard.shardId}`);
  }

  initialize({ checkpoint }: InitializeInput) {
    this.logger.log(`starting at ${checkpoint.sequenceNumber}`);
  }

  async processRecords({ records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) {
      try {
        this.totals.record(decodeOrder(record.data));
      } catch (error) {
        // A poison record: log it with its position. A real app would send it to a dead-letter queue.
        this.logger.error(`skipping record ${record.sequenceNumber}: ${(error as Error).message}`);
      }
    }
    // Checkpoint after the work is done: a crash before this line means the batch is read again.
    await checkpointer.checkpoint();
  }

  async shutdown({ reason, checkpointer }: ShutdownInput) {
    this.logger.log(`shutting down (${reason})`);
    // TERMINATE: the shard was split or merged; checkpointing lets its children start.
    if (reason === 'TERMINATE') await checkpointer?.checkpoint();
  }
}
