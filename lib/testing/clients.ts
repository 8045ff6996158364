import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocalEmulators } from './local-emulators';

type Endpoints = Pick<LocalEmulators, 'region' | 'workerOptions'>;

/**
 * A Kinesis client for the emulators, over HTTP/1.1 (kinesis-local serves HTTP/2 unreliably). Destroy it
 * when done (`client.destroy()`), or its keep-alive sockets hold the process open.
 */
export function localKinesisClient(emulators: Endpoints): KinesisClient {
  return new KinesisClient({
    ...emulators.workerOptions.kinesis,
    region: emulators.region,
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 5,
  });
}

/** A DynamoDB client for the emulators (dynalite), to read a lease table or a processor's own table. Destroy it when done. */
export function localDynamoDbClient(emulators: Endpoints): DynamoDBClient {
  return new DynamoDBClient({
    ...emulators.workerOptions.dynamodb,
    region: emulators.region,
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 5,
  });
}
