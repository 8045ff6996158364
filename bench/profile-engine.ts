/** Profiling aid: node --cpu-prof -r ts-node/register/transpile-only bench/profile-engine.ts [bare] */
import { dynaliteChild, measureEngine, syntheticKinesis, kinesisClientFor, Meter } from './lib/setup';
import { bareLoop } from './lib/bare-loop';
import { stopChild } from './lib/child';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

(async () => {
  const dynamo = await dynaliteChild();
  const synthetic = await syntheticKinesis(4, Number(process.env.RECORD_BYTES ?? 1024), Number(process.env.PER_RESPONSE ?? 1000));
  const target = Number(process.env.TARGET ?? 300_000);
  let window;
  if (process.argv.includes('bare')) {
    const kinesis = kinesisClientFor(synthetic.endpoint);
    const meter = new Meter(target);
    await bareLoop(kinesis, 'synthetic', {
      maxRecords: 10000,
      idleMs: 0,
      onRecords: (r) => meter.add(r.length, 0),
      until: () => meter.finished,
    });
    window = await meter.done;
    kinesis.destroy();
  } else {
    window = await measureEngine(
      {
        appName: `prof-${Date.now()}`,
        streamName: 'synthetic',
        region: LOCAL_REGION,
        kinesis: { endpoint: synthetic.endpoint, credentials: LOCAL_CREDENTIALS },
        dynamodb: { endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS },
      },
      target,
    );
  }
  console.log(
    `${process.argv.includes('bare') ? 'bare' : 'engine'}: ${Math.round((window.records / window.ms) * 1000)} rec/s, ${(window.cpuMicros / window.records).toFixed(2)} µs CPU/record`,
  );
  await stopChild(synthetic.child);
  await stopChild(dynamo.child);
})().catch((error: unknown) => {
  console.error('profile-engine:', error);
  process.exit(1);
});
