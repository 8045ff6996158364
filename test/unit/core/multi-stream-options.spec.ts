import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';
import type { StreamWorkerOptions } from '../../../lib/core/options';

const base = { appName: 'app', region: 'eu-west-1' };

function optionError(options: Partial<StreamWorkerOptions>): KinesisWorkerConfigError {
  try {
    resolveWorkerOptions({ ...base, ...options });
  } catch (error) {
    return error as KinesisWorkerConfigError;
  }
  throw new Error('expected a config error');
}

describe('streams: several streams on one lease table', () => {
  it('resolves streams to the multi-stream format, streamName to the single-stream one', () => {
    expect(resolveWorkerOptions({ ...base, streams: ['orders', 'payments'] })).toMatchObject({
      streams: ['orders', 'payments'],
      multiStream: true,
      streamName: 'orders,payments',
    });
    expect(resolveWorkerOptions({ ...base, streams: ['orders'] })).toMatchObject({ streams: ['orders'], multiStream: true });
    expect(resolveWorkerOptions({ ...base, streamName: 'orders' })).toMatchObject({
      streams: ['orders'],
      multiStream: false,
      streamName: 'orders',
    });
  });

  it('multiStream: true with streamName is one stream in the multi-stream format, as streams: [streamName]', () => {
    expect(resolveWorkerOptions({ ...base, streamName: 'orders', multiStream: true })).toMatchObject({
      streams: ['orders'],
      multiStream: true,
      streamName: 'orders',
    });
    expect(resolveWorkerOptions({ ...base, streams: ['orders'], multiStream: true })).toMatchObject({ multiStream: true });
    expect(resolveWorkerOptions({ ...base, streamName: 'orders', multiStream: false })).toMatchObject({ multiStream: false });
  });

  it.each([
    [{ streamName: 'orders', streams: ['payments'] }, 'streams', /either streamName .* or streams/],
    [{ streams: [] }, 'streams', /non-empty array/],
    [{ streams: ['orders', 'orders'] }, 'streams', /'orders' is listed twice/],
    [{ streams: ['orders', 'bad name'] }, 'streams[1]', /expected a Kinesis stream name/],
    [{}, 'stream', /expected a Kinesis stream name/],
    [{ streams: ['orders', 'payments'], engine: 'kcl' }, 'streams', /MultiLangDaemon reads a single streamName .* Use engine: 'native'/],
    [{ streamName: 'orders', multiStream: true, engine: 'kcl' }, 'multiStream', /MultiLangDaemon reads a single streamName/],
    [{ streams: ['orders', 'payments'], multiStream: false }, 'multiStream', /streams always uses the multi-stream lease format/],
    [{ streamName: 'orders', multiStream: 'yes' as never }, 'multiStream', /true or false/],
  ] as const)('refuses %j naming %s', (options, option, message) => {
    const error = optionError(options);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('reports each event with the stream it is about', () => {
    const seen: unknown[] = [];
    const resolved = resolveWorkerOptions({
      ...base,
      workerId: 'w',
      streams: ['orders', 'payments'],
      onEvent: (event) => seen.push(event),
    });
    resolved.emit({ type: 'shardEnded', shardId: 'shardId-000000000000', childShardIds: [] }, 'payments');
    expect(seen).toEqual([
      { type: 'shardEnded', shardId: 'shardId-000000000000', childShardIds: [], workerId: 'w', streamName: 'payments' },
    ]);
  });
});
