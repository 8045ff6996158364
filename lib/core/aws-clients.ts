import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ResolvedWorkerOptions } from './options';

/**
 * The SDK v3 Kinesis client defaults to HTTP/2, which only SubscribeToShard needs; polling works
 * over HTTP/1.1 everywhere, and local emulators answer HTTP/2 unreliably. Callers may pass their own
 * requestHandler, and every other client setting passes through untouched.
 *
 * A requestTimeout of @smithy/node-http-handler only logs a warning unless throwOnRequestTimeout is
 * set: without it a half-open connection hangs a call (and the lease renewals queued behind it) forever.
 */
export function createClients(options: ResolvedWorkerOptions): { kinesis: KinesisClient; dynamodb: DynamoDBClient } {
  const kinesis = new KinesisClient({
    region: options.region,
    ...options.kinesis,
    requestHandler: options.kinesis.requestHandler ?? new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true }),
  });
  const dynamodb = new DynamoDBClient({
    region: options.region,
    ...options.dynamodb,
    requestHandler: options.dynamodb.requestHandler ?? new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true }),
  });
  return { kinesis, dynamodb };
}
