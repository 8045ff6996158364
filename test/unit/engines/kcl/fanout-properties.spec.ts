import { KinesisWorkerConfigError } from '../../../../lib';
import { resolveWorkerOptions } from '../../../../lib/core/resolve-options';
import type { StreamWorkerOptions } from '../../../../lib/core/options';
import { daemonConfig } from '../../../../lib/engines/kcl/properties';
import { resolveKclOptions } from '../../../../lib/engines/kcl/kcl-options';

const silent = { log() {}, warn() {}, error() {} };
const base: StreamWorkerOptions = {
  engine: 'kcl',
  appName: 'orders-app',
  streamName: 'orders',
  region: 'eu-west-1',
  workerId: 'host:1:abc',
  logger: silent,
};

async function properties(options: Partial<StreamWorkerOptions>) {
  const all = { ...base, ...options };
  const resolved = resolveWorkerOptions(all);
  return (await daemonConfig(resolved, resolveKclOptions(all, resolved), '/usr/bin/node relay.js')).properties;
}

describe('kcl engine: retrieval mode passthrough', () => {
  it('kcl.retrievalMode FANOUT reaches the daemon as retrievalMode = FANOUT (the daemon registers the consumer named after applicationName)', async () => {
    const out = await properties({ kcl: { retrievalMode: 'FANOUT' } });
    expect(out.retrievalMode).toBe('FANOUT');
    expect(out).not.toHaveProperty('consumerName');
  });

  it("the common retrieval.mode 'fanout' means FANOUT, with its consumer name and ARN as the daemon's FanoutConfig", async () => {
    expect(await properties({ retrieval: { mode: 'fanout' } })).toMatchObject({ retrievalMode: 'FANOUT', consumerName: 'orders-app' });
    const arn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/shared:1700000000';
    expect(await properties({ retrieval: { mode: 'fanout', consumerName: 'shared', consumerArn: arn } })).toMatchObject({
      consumerName: 'shared',
      consumerArn: arn,
    });
    expect((await properties({ retrieval: { mode: 'polling' } })).retrievalMode).toBe('POLLING');
  });

  it('refuses kcl.retrievalMode and retrieval.mode that disagree, and kcl.properties that set the consumer', () => {
    const resolve = (options: Partial<StreamWorkerOptions>) => () => {
      const all = { ...base, ...options };
      resolveKclOptions(all, resolveWorkerOptions(all));
    };
    expect(resolve({ retrieval: { mode: 'fanout' }, kcl: { retrievalMode: 'POLLING' } })).toThrow(KinesisWorkerConfigError);
    expect(resolve({ retrieval: { mode: 'fanout' }, kcl: { retrievalMode: 'POLLING' } })).toThrow(/set only retrieval\.mode/);
    expect(resolve({ kcl: { properties: { consumerName: 'x' } } })).toThrow(/retrieval\.consumerName/);
  });
});
