/**
 * How @OnKinesisEvent handlers are found and called, in a real Nest container but without a worker:
 * the listener a stream's worker would get is called with made-up events. The e2e test
 * (test/e2e/nest-events.e2e-spec.ts) shows the real lease events arriving.
 */
import { Injectable, Scope } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { OnKinesisEvent, type WorkerEventListener } from '../../lib';
import { KinesisEventHandlers } from '../../lib/kinesis-event-handlers';
import { CapturingLogger } from '../support/capturing-logger';

type Seen = Parameters<WorkerEventListener>[0];

const calls: string[] = [];

@Injectable()
class Audit {
  @OnKinesisEvent('leaseLost')
  lost(event: Seen) {
    calls.push(`lost ${event.streamName}/${event.shardId}`);
  }

  @OnKinesisEvent('leaseLost', { stream: 'orders' })
  ordersOnly(event: Seen) {
    calls.push(`orders-only ${event.shardId}`);
  }

  @OnKinesisEvent('*')
  @OnKinesisEvent('shardEnded')
  everything(event: Seen) {
    calls.push(`all ${event.type}`);
  }

  @OnKinesisEvent('leaseLost')
  throws() {
    throw new Error('sync failure');
  }

  @OnKinesisEvent('leaseLost')
  // eslint-disable-next-line @typescript-eslint/require-await -- a handler that rejects: what is tested
  async rejects() {
    throw new Error('async failure');
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @OnKinesisEvent('leaseLost')
  never() {
    calls.push('request-scoped');
  }
}

async function handlers() {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [KinesisEventHandlers, Audit, PerRequest],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(KinesisEventHandlers);
}

const lost = (streamName: string): Seen => ({
  type: 'leaseLost',
  shardId: 'shardId-000000000001',
  reason: 'stolen',
  workerId: 'w1',
  streamName,
});

beforeEach(() => (calls.length = 0));

it('calls the matching handlers after onEvent; a stream filter keeps other streams out; one method may carry several', async () => {
  const logger = new CapturingLogger();
  const own: string[] = [];
  const ordersListener = (await handlers()).listenerFor('orders', (event) => void own.push(event.type), logger)!;
  ordersListener(lost('orders'));
  expect(own).toEqual(['leaseLost']);
  expect(calls).toEqual(['lost orders/shardId-000000000001', 'orders-only shardId-000000000001', 'all leaseLost']);

  calls.length = 0;
  const paymentsListener = (await handlers()).listenerFor('payments', undefined, logger)!;
  paymentsListener(lost('payments'));
  paymentsListener({ type: 'shardEnded', shardId: 'shardId-000000000000', childShardIds: [], workerId: 'w1', streamName: 'payments' });
  expect(calls).toEqual(['lost payments/shardId-000000000001', 'all leaseLost', 'all shardEnded', 'all shardEnded']);
});

it('a throwing or rejecting handler, or a throwing onEvent, is logged and the others still run', async () => {
  const logger = new CapturingLogger();
  const listener = (await handlers()).listenerFor(
    'orders',
    () => {
      throw new Error('onEvent failure');
    },
    logger,
  )!;
  expect(() => listener(lost('orders'))).not.toThrow();
  expect(calls).toContain('all leaseLost');
  await new Promise((resolve) => setImmediate(resolve)); // the rejection is reported when it settles
  const warnings = logger.lines.filter((line) => line.startsWith('WARN'));
  expect(warnings).toEqual(
    expect.arrayContaining([
      expect.stringContaining('onEvent listener threw on leaseLost: Error: onEvent failure'),
      expect.stringContaining("@OnKinesisEvent('leaseLost') handler Audit.throws failed on leaseLost: Error: sync failure"),
      expect.stringContaining("@OnKinesisEvent('leaseLost') handler Audit.rejects failed on leaseLost: Error: async failure"),
    ]),
  );
});

it('a request-scoped provider is skipped with a warning naming it; a non-function onEvent is passed on for validation to reject', async () => {
  const logger = new CapturingLogger();
  const events = await handlers();
  events.listenerFor('orders', undefined, logger)!(lost('orders'));
  expect(calls).not.toContain('request-scoped');
  expect(logger.lines).toContainEqual(
    expect.stringContaining('@OnKinesisEvent on PerRequest.never is ignored: its provider is request-scoped or transient'),
  );
  const notAFunction = 'log it' as unknown as WorkerEventListener;
  expect(events.listenerFor('orders', notAFunction, logger)).toBe(notAFunction);
});
