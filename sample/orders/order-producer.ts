import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { OrderEvent } from './order-event';

/** Writes random orders, as the checkout service of a shop would. */
export class OrderProducer {
  private produced = 0;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
  ) {}

  get count(): number {
    return this.produced;
  }

  async putBatch(size: number): Promise<void> {
    const orders: OrderEvent[] = Array.from({ length: size }, () => ({
      orderId: `order-${++this.produced}`,
      customerId: `customer-${Math.floor(Math.random() * 20)}`,
      amountCents: 100 + Math.floor(Math.random() * 10_000),
      placedAt: new Date().toISOString(),
    }));
    let pending = orders;
    while (pending.length > 0) {
      const out = await this.kinesis.send(
        new PutRecordsCommand({
          StreamName: this.streamName,
          Records: pending.map((order) => ({ PartitionKey: order.customerId, Data: Buffer.from(JSON.stringify(order)) })),
        }),
      );
      pending = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
    }
  }
}
