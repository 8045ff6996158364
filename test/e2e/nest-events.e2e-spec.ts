/* eslint-disable @typescript-eslint/require-await -- event handlers that answer at once or throw, as rejections */
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KinesisWorkerModule, OnKinesisEvent, type WorkerEvent } from '../../lib';
import { createStream } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { FAST, Recorder, recordingProcessor } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

type Seen = WorkerEvent & { workerId: string; streamName: string };

/** A provider of the app that has nothing to do with processing, listening the Nest way. */
@Injectable()
class LeaseAudit {
  readonly taken: Seen[] = [];
  readonly released: Seen[] = [];
  readonly all: Seen[] = [];
  readonly otherStream: Seen[] = [];

  @OnKinesisEvent('leaseTaken')
  onTaken(event: Seen) {
    this.taken.push(event);
  }

  @OnKinesisEvent('leaseReleased')
  async onReleased(event: Seen) {
    this.released.push(event);
  }

  @OnKinesisEvent('*')
  onAnything(event: Seen) {
    this.all.push(event);
  }

  @OnKinesisEvent('leaseTaken', { stream: 'some-other-stream' })
  onOtherStream(event: Seen) {
    this.otherStream.push(event);
  }

  @OnKinesisEvent('leaseTaken')
  async failing() {
    throw new Error('audit store unavailable');
  }
}

const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

it('@OnKinesisEvent methods of any provider get the lease events beside onEvent; a failing handler is logged and the worker goes on', async () => {
  const stream = uniqueName('events');
  await createStream(kinesis, stream, 2);
  const logger = new CapturingLogger();
  const viaOption: string[] = [];
  const moduleRef = await Test.createTestingModule({
    imports: [
      KinesisWorkerModule.forRoot({
        ...workerClientOptions(),
        ...FAST,
        appName: uniqueName('app'),
        logger,
        onEvent: (event) => void viaOption.push(event.type),
      }),
    ],
    providers: [{ provide: Recorder, useValue: new Recorder() }, recordingProcessor(stream), LeaseAudit],
  }).compile();
  await moduleRef.init();
  const audit = moduleRef.get(LeaseAudit);
  await waitFor(() => audit.taken.length >= 2, 'both leases taken');
  expect(audit.taken.map((e) => e.shardId).sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  expect(audit.taken.every((e) => e.streamName === stream && typeof e.workerId === 'string')).toBe(true);
  expect(audit.otherStream).toEqual([]);
  await waitFor(
    () => logger.lines.filter((l) => l.includes("@OnKinesisEvent('leaseTaken') handler LeaseAudit.failing failed")).length >= 2,
    'the failing handler logged',
  );

  await moduleRef.close();
  expect(audit.released.map((e) => [e.shardId, e.type === 'leaseReleased' && e.reason]).sort()).toEqual([
    ['shardId-000000000000', 'REQUESTED'],
    ['shardId-000000000001', 'REQUESTED'],
  ]);
  expect(audit.all.map((e) => e.type)).toEqual(viaOption);
  expect(viaOption.filter((t) => t === 'leaseTaken')).toHaveLength(2);
});
