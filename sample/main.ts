import 'reflect-metadata';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KinesisWorkerService } from '../lib';
import { createStream, startLocalEmulators, type LocalEmulators } from '../lib/testing';
import { appModule } from './app.module';
import { CustomerTotalsService } from './orders/customer-totals.service';
import { OrderProducer } from './orders/order-producer';
import { ORDERS_STREAM } from './orders/orders.constants';

/**
 * npm start            local emulators, 2000 orders, exits when all are counted
 * npm start -- --follow  keeps producing and consuming until Ctrl+C
 * npm start -- --aws     real AWS: default credentials and region, an existing stream ORDERS_STREAM
 */
async function main() {
  const follow = process.argv.includes('--follow');
  const onAws = process.argv.includes('--aws');
  const total = Number(process.env.ORDERS ?? 2000);
  const logger = new Logger('sample');

  let emulators: LocalEmulators | undefined;
  let clientOptions = {};
  if (!onAws) {
    logger.log('starting kinesis-local and dynalite on loopback...');
    emulators = await startLocalEmulators();
    clientOptions = emulators.workerOptions;
  }
  const kinesis = new KinesisClient({
    requestHandler: new NodeHttpHandler(),
    ...(emulators?.workerOptions.kinesis ?? {}),
    region: emulators?.region,
  });
  if (emulators) await createStream(kinesis, ORDERS_STREAM, 4);

  const producer = new OrderProducer(kinesis, ORDERS_STREAM);
  await producer.putBatch(Math.min(total, 500));

  const app = await NestFactory.createApplicationContext(appModule(clientOptions), { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks(); // SIGTERM / Ctrl+C reach the worker: final checkpoints, leases released
  const totals = app.get(CustomerTotalsService);
  const workers = app.get(KinesisWorkerService);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await emulators?.stop();
    kinesis.destroy();
  };
  process.once('SIGINT', () => void shutdown().then(() => process.exit(0)));

  const progress = setInterval(() => {
    const shards = workers.status().flatMap((s) => s.shards);
    const behind = Math.max(0, ...shards.map((s) => s.millisBehindLatest ?? 0));
    logger.log(
      `counted ${totals.ordersCounted}/${producer.count} orders on ${shards.length} shards, ${behind} ms behind, ${totals.duplicates} duplicates`,
    );
  }, 1000);

  while (!stopping && (follow || producer.count < total)) {
    await producer.putBatch(follow ? 50 : Math.min(250, total - producer.count));
    await new Promise((resolve) => setTimeout(resolve, follow ? 1000 : 100));
  }
  while (!stopping && totals.ordersCounted < producer.count) await new Promise((resolve) => setTimeout(resolve, 200));
  clearInterval(progress);
  logger.log(`all ${producer.count} orders counted. Top customers (cents): ${JSON.stringify(totals.top(5))}`);
  await shutdown();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
