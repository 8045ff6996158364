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
    requestHandler:
      options.kinesis.requestHandler ??
      new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true }),
  });
  const dynamodb = new DynamoDBClient({
    region: options.region,
    ...options.dynamodb,
    requestHandler: options.dynamodb.requestHandler ?? new NodeHttpHandler({ ...dynamoDbTimeouts(options), throwOnRequestTimeout: true }),
  });
  return { kinesis, dynamodb };
}

/**
 * Lease renewals go through the DynamoDB client: one attempt must end well within a renewal interval,
 * so that a retry on a fresh connection still renews the lease before failoverTimeMs runs out.
 */
export function dynamoDbTimeouts(options: Pick<ResolvedWorkerOptions, 'leaseRenewalIntervalMs'>): {
  requestTimeout: number;
  connectionTimeout: number;
} {
  const interval = options.leaseRenewalIntervalMs;
  return {
    requestTimeout: Math.min(10_000, Math.max(500, Math.floor(interval / 2))),
    connectionTimeout: Math.min(5_000, Math.max(300, Math.floor(interval / 3))),
  };
}
