import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KinesisWorkerConfigError } from '../../../../../lib/core/errors';
import { resolveWorkerOptions } from '../../../../../lib/core/resolve-options';
import type { StreamWorkerOptions } from '../../../../../lib/core/options';

const base: StreamWorkerOptions = { appName: 'orders-app', streamName: 'orders', region: 'eu-west-1' };
const resolve = (retrieval: unknown) =>
  resolveWorkerOptions({ ...base, retrieval: retrieval as StreamWorkerOptions['retrieval'] }).retrieval;
const failure = (retrieval: unknown) => {
  try {
    resolve(retrieval);
  } catch (error) {
    return error as KinesisWorkerConfigError;
  }
  throw new Error('no error');
};

describe('retrieval option (fan-out)', () => {
  it('defaults to polling; fan-out names its consumer after appName, as the Java KCL does', () => {
    expect(resolve(undefined)).toEqual({
      mode: 'polling',
      wireFormat: 'json',
      maxBufferedRecords: 50_000,
      maxBufferedBytes: 32 * 1024 * 1024,
    });
    expect(resolve({ mode: 'fanout' })).toMatchObject({ mode: 'fanout', consumerName: 'orders-app', consumerArn: undefined });
    const handler = new NodeHttpHandler();
    expect(resolve({ mode: 'fanout', consumerName: 'other', requestHandler: handler })).toMatchObject({
      consumerName: 'other',
      requestHandler: handler,
    });
    const arn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/orders-app:1700000000';
    expect(resolve({ mode: 'fanout', consumerArn: arn })).toMatchObject({ consumerArn: arn });
  });

  it('retrieval.subscribeTimeoutMs bounds the answer to SubscribeToShard and its first event: 10000 by default', () => {
    expect(resolve({ mode: 'fanout' })).toMatchObject({ subscribeTimeoutMs: 10_000 });
    expect(resolve({ mode: 'fanout', subscribeTimeoutMs: 2_500 })).toMatchObject({ subscribeTimeoutMs: 2_500 });
  });

  it('takes the GetRecords wire format in both modes (fan-out calls GetRecords too, to find a shard end)', () => {
    expect(resolve({ wireFormat: 'cbor' })).toEqual({
      mode: 'polling',
      wireFormat: 'cbor',
      maxBufferedRecords: 50_000,
      maxBufferedBytes: 32 * 1024 * 1024,
    });
    expect(resolve({ mode: 'fanout', wireFormat: 'cbor' })).toMatchObject({ mode: 'fanout', wireFormat: 'cbor' });
    expect(resolve({ mode: 'fanout' })).toMatchObject({ wireFormat: 'json' });
  });

  it('bounds what is fetched but not yet processed: 50000 records and 32 MiB by default, in both modes', () => {
    expect(resolve({ maxBufferedRecords: 1_000, maxBufferedBytes: 1_048_576 })).toMatchObject({
      mode: 'polling',
      maxBufferedRecords: 1_000,
      maxBufferedBytes: 1_048_576,
    });
    expect(resolve({ mode: 'fanout', maxBufferedBytes: 5 })).toMatchObject({ maxBufferedRecords: 50_000, maxBufferedBytes: 5 });
  });

  it('refuses a consumer ARN for several streams (a consumer belongs to one stream), naming the fix', () => {
    const arn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/orders-app:1700000000';
    const attempt = () =>
      resolveWorkerOptions({
        appName: 'orders-app',
        streams: ['orders', 'refunds'],
        region: 'eu-west-1',
        retrieval: { mode: 'fanout', consumerArn: arn },
      });
    expect(attempt).toThrow(KinesisWorkerConfigError);
    expect(attempt).toThrow(/belongs to one stream.*registered, or reused, on each stream/);
    expect(
      resolveWorkerOptions({ appName: 'orders-app', streams: ['orders', 'refunds'], region: 'eu-west-1', retrieval: { mode: 'fanout' } })
        .retrieval,
    ).toMatchObject({ consumerName: 'orders-app' });
  });

  it.each([
    [{ mode: 'push' }, 'retrieval.mode', /'polling' or 'fanout'/],
    [{ mode: 'fanout', consumerName: 'has space' }, 'retrieval.consumerName', /valid stream consumer name/],
    [{ mode: 'fanout', consumerArn: 'orders-app' }, 'retrieval.consumerArn', /stream consumer ARN such as arn:aws:kinesis/],
    [{ mode: 'fanout', requestHandler: {} }, 'retrieval.requestHandler', /new NodeHttp2Handler\(\).*NodeHttpHandler\(\)/],
    [{ mode: 'polling', consumerName: 'x' }, 'retrieval.consumerName', /fan-out setting, but retrieval.mode is 'polling'/],
    [{ mode: 'polling', subscribeTimeoutMs: 5000 }, 'retrieval.subscribeTimeoutMs', /fan-out setting, but retrieval.mode is 'polling'/],
    [
      { mode: 'fanout', subscribeTimeoutMs: 0 },
      'retrieval.subscribeTimeoutMs',
      /whole milliseconds from 100 to 300000.*default 10000\), got 0/,
    ],
    [{ mode: 'fanout', subscribeTimeoutMs: '5s' }, 'retrieval.subscribeTimeoutMs', /whole milliseconds from 100 to 300000/],
    [
      { mode: 'fanout', consumer: 'x' },
      'retrieval.consumer',
      /unknown option; the valid retrieval settings are consumerArn, consumerName, maxBufferedBytes, maxBufferedRecords, mode, requestHandler, subscribeTimeoutMs, wireFormat/,
    ],
    ['fanout', 'retrieval', /expected \{ mode/],
    [{ wireFormat: 'CBOR' }, 'retrieval.wireFormat', /expected 'json' or 'cbor'/],
    [{ mode: 'fanout', wireFormat: 'msgpack' }, 'retrieval.wireFormat', /expected 'json' or 'cbor'/],
    [
      { maxBufferedRecords: 0 },
      'retrieval.maxBufferedRecords',
      /whole number from 1 \(the records fetched but not yet processed.*default 50000\), got 0/,
    ],
    [{ maxBufferedRecords: 1.5 }, 'retrieval.maxBufferedRecords', /whole number from 1/],
    [{ maxBufferedBytes: '32MB' }, 'retrieval.maxBufferedBytes', /whole number from 1 \(the data bytes.*default 33554432\), got "32MB"/],
    [{ maxBufferedByte: 1 }, 'retrieval.maxBufferedByte', /did you mean retrieval.maxBufferedBytes\?/],
  ])('refuses %j at bootstrap, naming %s and the fix', (value, option, message) => {
    const error = failure(value);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });
});
