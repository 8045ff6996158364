// Local development and tests: embedded emulators, no AWS account. Needs kinesis-local and dynalite.
export { startLocalEmulators, type LocalEmulators } from './local-emulators';
export { startLocalKinesis, LOCAL_CREDENTIALS, LOCAL_REGION, type LocalKinesis, type LocalKinesisOptions } from './local-kinesis';
export { startLocalDynamoDb, type LocalDynamoDb } from './local-dynamodb';
export { createStream, waitForStreamActive, putRecords, type PutResult } from './streams';
export { freePort } from './free-port';
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
