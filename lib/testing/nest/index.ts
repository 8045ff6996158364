// nestjs-kinesis-worker/testing/nest: the Nest testing module. A separate entry from ./testing, which
// loads nothing of Nest (standalone users and apps without @nestjs installed use that one).
export { KinesisWorkerTestingModule, type KinesisWorkerTestingOptions } from './kinesis-worker-testing.module';
export { KinesisTestStreams, type TestPutEntry, type TestWaitOptions } from '../test-streams';
