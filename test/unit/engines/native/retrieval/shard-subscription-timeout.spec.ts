import { once } from 'node:events';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { ShardSubscription, SubscribeTimeoutError } from '../../../../../lib/engines/native/retrieval/shard-subscription';
import { waitFor } from '../../../../support/wait-for';

/**
 * SubscribeToShard against a real HTTP/2 server on loopback that accepts the request and then stays
 * silent: the blackholed or half-open connection of production, with the default handler of fan-out
 * (NodeHttp2Handler, whose session timeout is 10 minutes). The subscription must give up after
 * subscribeTimeoutMs and close the HTTP/2 stream, so the reader can subscribe again.
 */
let server: Http2Server;
let client: KinesisClient;
const streams: ServerHttp2Stream[] = [];
let answer: 'nothing' | 'headers only' = 'nothing';

beforeAll(async () => {
  server = createServer();
  server.on('stream', (stream) => {
    streams.push(stream);
    stream.on('error', () => undefined);
    // Read the request, then never answer (or answer the headers of an event stream and send no event).
    stream.resume();
    if (answer === 'headers only') stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = new KinesisClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: new NodeHttp2Handler({ sessionTimeout: 600_000 }),
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const subscription = () =>
  new ShardSubscription({
    client,
    consumerArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/app:1',
    shardId: 'shardId-000000000000',
    position: { type: 'TRIM_HORIZON' },
    signal: new AbortController().signal,
    // Long enough for the request to reach the server on a loaded machine (it failed at 300 ms with parallel workers).
    subscribeTimeoutMs: 2_000,
  });

describe('SubscribeToShard that never answers (HTTP/2 server on loopback)', () => {
  it('no answer: open() rejects with SubscribeTimeoutError after subscribeTimeoutMs, and the HTTP/2 stream is closed', async () => {
    answer = 'nothing';
    const before = streams.length;
    const sub = subscription();
    const error = await sub.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SubscribeTimeoutError);
    expect((error as Error).message).toMatch(/did not answer within 2000 ms \(retrieval\.subscribeTimeoutMs\)/);
    expect(streams.length).toBe(before + 1);
    await waitFor(() => streams[before].closed, 'the server to see the stream closed');
  });

  it('the headers of an event stream but no event: the first event is bounded by subscribeTimeoutMs too (not the 35 s idle timeout), and the stream is closed', async () => {
    answer = 'headers only';
    const before = streams.length;
    const sub = subscription();
    // The SDK may wait for the first message before it answers send() (it does today), or answer at the
    // headers: either open() or the first next() must give up after subscribeTimeoutMs.
    const error = await sub
      .open()
      .then(() => sub.next())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SubscribeTimeoutError);
    expect((error as Error).message).toMatch(/within 2000 ms \(retrieval\.subscribeTimeoutMs\)/);
    await waitFor(() => streams[before].closed, 'the server to see the stream closed');
  });
});
