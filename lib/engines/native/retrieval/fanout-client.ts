import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import type { ResolvedWorkerOptions } from '../../../core/options';

/**
 * The client for SubscribeToShard only. Real Kinesis serves it over HTTP/2 alone, while every other call
 * keeps the worker's HTTP/1.1 handler (local emulators answer HTTP/2 unreliably), so fan-out has its own
 * client: retrieval.requestHandler, else a NodeHttp2Handler. kinesis-local is the other way round
 * (SubscribeToShard over HTTP/1.1 only): pass new NodeHttpHandler() there.
 *
 * No request timeout: a subscription streams for up to 5 minutes. Its start (the answer and the first
 * event) is bounded by retrieval.subscribeTimeoutMs, and a subscription that dies later by the idle
 * timeout (shard-subscription.ts): either cancels the request, which closes its own HTTP/2 session. One attempt per call: the reader paces resubscriptions to Kinesis' one call per
 * second per shard, which the SDK's own retries would not respect.
 */
export function createSubscriberClient(options: ResolvedWorkerOptions): KinesisClient {
  if (options.retrieval.mode !== 'fanout') throw new Error('createSubscriberClient without retrieval.mode fanout');
  return new KinesisClient({
    region: options.region,
    ...options.kinesis,
    maxAttempts: 1,
    requestHandler: options.retrieval.requestHandler ?? new NodeHttp2Handler({ sessionTimeout: 600_000 }),
  });
}
