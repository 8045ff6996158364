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

export interface LocalEmulatorsOptions {
  kinesisPort?: number;
  dynamoDbPort?: number;
  /** Both emulators run in child processes that end with this process, even a killed one, and do not keep it alive. */
  exitWithParent?: boolean;
  /** dynalite does not keep this process alive. */
  unref?: boolean;
}

/**
 * kinesis-local (child process) and dynalite (in-process) on free loopback ports. No AWS account needed.
 * When one of them fails to start, the other is stopped before the error is thrown.
 */
export async function startLocalEmulators(options: LocalEmulatorsOptions = {}): Promise<LocalEmulators> {
  const started = await Promise.allSettled([
    startLocalKinesis({ port: options.kinesisPort, exitWithParent: options.exitWithParent }),
    startLocalDynamoDb({ port: options.dynamoDbPort, unref: options.unref, exitWithParent: options.exitWithParent }),
  ]);
  const [kinesis, dynamodb] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined)) as [
    LocalKinesis | undefined,
    LocalDynamoDb | undefined,
  ];
  const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure || !kinesis || !dynamodb) {
    await Promise.allSettled([kinesis?.stop(), dynamodb?.stop()]);
    throw failure?.reason;
  }
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
