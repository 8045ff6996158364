// Local development and tests: embedded emulators, no AWS account. Needs kinesis-local and dynalite.
// Nothing here loads @nestjs/*: the Nest testing module is nestjs-kinesis-worker/testing/nest.
export { startLocalEmulators, type LocalEmulators, type LocalEmulatorsOptions } from './local-emulators';
export { sharedEmulators } from './shared-emulators';
export { startLocalKinesis, LOCAL_CREDENTIALS, LOCAL_REGION, type LocalKinesis, type LocalKinesisOptions } from './local-kinesis';
export { startLocalDynamoDb, type LocalDynamoDb, type LocalDynamoDbOptions } from './local-dynamodb';
export { localKinesisClient, localDynamoDbClient } from './clients';
export { createStream, waitForStreamActive, putRecords, type PutResult } from './streams';
export { freePort } from './free-port';
export { uniqueTestName } from './unique-name';
export {
  KinesisTestStreams,
  type KinesisTestStreamsOptions,
  type TestPutEntry,
  type TestDeadLetter,
  type TestWaitOptions,
  type WorkerStatusSource,
} from './test-streams';
export { checkpointProgress, describePending, type PutRecordRef, type ShardProgress } from './checkpoint-progress';
export { ProcessorFailedError, quietTestLogger } from './processor-failures';
export { waitUntil, TestWaitTimeoutError, type WaitUntilOptions } from './wait-until';
export { TestRecordFactory, toRecordData, type TestRecordInput } from './test-records';
export { RecordingCheckpointer } from './recording-checkpointer';
export {
  startFaultProxy,
  faults,
  type FaultProxy,
  type FaultProxyOptions,
  type Fault,
  type FaultName,
  type FaultAction,
  type ProxiedRequest,
  type ProxyResponse,
  type Responder,
  type ResponseTransform,
  type RequestMatcher,
  type RuleOptions,
  type RuleHandle,
  type RequestRecord,
} from './fault-proxy';
