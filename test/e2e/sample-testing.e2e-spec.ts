import { Test, type TestingModule } from '@nestjs/testing';
import { KinesisTestStreams, KinesisWorkerTestingModule } from 'nestjs-kinesis-worker/testing/nest';
import { CustomerTotalsService } from '../../sample/orders/customer-totals.service';
import { OrdersProcessor } from '../../sample/orders/orders.processor';
import { ORDERS_STREAM } from '../../sample/orders/orders.constants';

/**
 * The model e2e test of an app's own processor (docs/testing.md), written only against the public testing
 * entry, imported by the name a user writes (jest.config.js maps it onto lib/, which the sample imports): the
 * sample's OrdersProcessor and CustomerTotalsService, built by Nest per shard on the real engine.
 */
describe('the sample OrdersProcessor, on KinesisWorkerTestingModule', () => {
  let app: TestingModule;
  let kinesis: KinesisTestStreams;

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [KinesisWorkerTestingModule.forRoot({ streams: { [ORDERS_STREAM]: 2 } })],
      providers: [OrdersProcessor, CustomerTotalsService],
    }).compile();
    await app.init();
    kinesis = app.get(KinesisTestStreams);
  });

  afterEach(() => app.close());

  const order = (orderId: string, customerId: string, amountCents: number) => ({
    data: { orderId, customerId, amountCents, placedAt: new Date().toISOString() },
    partitionKey: customerId,
  });

  it('totals the orders per customer', async () => {
    await kinesis.put(ORDERS_STREAM, [order('o1', 'alice', 500), order('o2', 'bob', 250), order('o3', 'alice', 100)]);
    await kinesis.processed();
    expect(app.get(CustomerTotalsService).top(2)).toEqual([
      ['alice', 600],
      ['bob', 250],
    ]);
  });

  it('counts a redelivered order once (at-least-once delivery)', async () => {
    await kinesis.put(ORDERS_STREAM, [order('o1', 'carol', 300), order('o1', 'carol', 300)]);
    await kinesis.processed();
    const totals = app.get(CustomerTotalsService);
    expect([totals.ordersCounted, totals.duplicates]).toEqual([1, 1]);
  });
});
