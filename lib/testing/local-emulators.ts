import type { KinesisWorkerOptions } from '../core/options';
import { startLocalDynamoDb, type LocalDynamoDb } from './local-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKinesis, type LocalKinesis } from './local-kinesis';

export interface LocalEmulators {
  readonly kinesis: LocalKinesis;
  readonly dynamodb: LocalDynamoDb;
  readonly region: string;
  /** Module options that point a worker at these emulators, with dummy credentials. */
  readonly workerOptions: Required<Pick<KinesisWorkerOptions, 'region' | 'kinesis' | 'dynamodb'>>;
  stop(): Promise<void>;
}

/** kinesis-local (child process) and dynalite (in-process) on free loopback ports. No AWS account needed. */
export async function startLocalEmulators(options: { kinesisPort?: number; dynamoDbPort?: number } = {}): Promise<LocalEmulators> {
  const [kinesis, dynamodb] = await Promise.all([
    startLocalKinesis({ port: options.kinesisPort }),
    startLocalDynamoDb({ port: options.dynamoDbPort }),
  ]);
  return {
    kinesis,
    dynamodb,
    region: LOCAL_REGION,
    workerOptions: {
      region: LOCAL_REGION,
      kinesis: { endpoint: kinesis.endpoint, credentials: LOCAL_CREDENTIALS },
      dynamodb: { endpoint: dynamodb.endpoint, credentials: LOCAL_CREDENTIALS },
    },
    async stop() {
      await Promise.all([kinesis.stop(), dynamodb.stop()]);
    },
  };
}
