/**
 * What the kcl engine costs next to the native one, on the embedded emulators: start-up time (from
 * worker.start() to the first record, and to the last) and memory (RSS, and PSS where Linux gives it:
 * the relays share the node binary's pages) of the worker process, and for kcl of the JVM and relays.
 *
 *   npx ts-node --transpile-only scripts/kcl-footprint.ts [--shards 4] [--records 2000] [--runs 3]
 *
 * Each run is a fresh worker process on a fresh application (default settings but the endpoints),
 * so that both engines start cold on the same stream.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createWorker, type EngineName } from '../lib';
import { createStream, putRecords, startLocalEmulators } from '../lib/testing';

type Message =
  | { type: 'started'; ms: number; runDir?: string }
  | { type: 'first'; ms: number }
  | { type: 'all'; ms: number }
  | { type: 'stopped'; ms: number };

interface Sample {
  engine: EngineName;
  startMs: number;
  firstMs: number;
  allMs: number;
  stopMs: number;
  nodeRssMb: number;
  jvmRssMb?: number;
  relayRssMb?: number;
  relayPssMb?: number;
  relays?: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const mb = (kb: number) => Math.round(kb / 102.4) / 10;

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function pssKb(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function processesIn(runDir: string): { pid: number; args: string }[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => !!m && m[2].includes(runDir) && !m[2].startsWith('ps '))
    .map((m) => ({ pid: Number(m[1]), args: m[2] }));
}

/** The worker process: one worker, counting records, reporting times to the parent. */
async function child(): Promise<void> {
  const config = JSON.parse(process.env.FOOTPRINT_WORKER!) as {
    engine: EngineName;
    stream: string;
    appName: string;
    total: number;
    options: object;
  };
  let seen = 0;
  const t0 = Date.now();
  const send = (message: Message) => process.send!(message);
  const worker = createWorker(
    {
      ...config.options,
      engine: config.engine,
      appName: config.appName,
      streamName: config.stream,
      logger: { log() {}, warn: console.warn, error: console.error },
    },
    () => ({
      processRecords: async ({ records, checkpointer }) => {
        if (seen === 0) send({ type: 'first', ms: Date.now() - t0 });
        seen += records.length;
        if (seen >= config.total && seen - records.length < config.total) send({ type: 'all', ms: Date.now() - t0 });
        await checkpointer.checkpoint();
      },
    }),
  );
  await worker.start();
  send({ type: 'started', ms: Date.now() - t0, runDir: (worker as { runDirectory?: string }).runDirectory });
  process.on('message', (message) => {
    if (message !== 'stop') return;
    const s = Date.now();
    worker.stop().then(
      () => {
        send({ type: 'stopped', ms: Date.now() - s });
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`kcl-footprint: the ${config.engine} worker did not stop cleanly:`, error);
        process.exit(1);
      },
    );
  });
}

async function measure(engine: EngineName, stream: string, total: number, options: object): Promise<Sample> {
  const appName = `footprint-${engine}-${Date.now()}`;
  const worker: ChildProcess = fork(__filename, ['--child'], {
    env: { ...process.env, FOOTPRINT_WORKER: JSON.stringify({ engine, stream, appName, total, options }) },
    execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
  });
  const messages: Message[] = [];
  const next = (type: Message['type']) =>
    new Promise<Message>((resolve, reject) => {
      const found = messages.find((m) => m.type === type);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no ${type} from the ${engine} worker`)), 180_000);
      worker.on('message', (m: Message) => {
        if (m.type === type) {
          clearTimeout(timer);
          resolve(m);
        }
      });
    });
  worker.on('message', (m: Message) => messages.push(m));
  const started = (await next('started')) as Extract<Message, { type: 'started' }>;
  const first = await next('first');
  const all = await next('all');
  // Steady state: everything read, the worker idles on the tip of the stream.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const sample: Sample = { engine, startMs: started.ms, firstMs: first.ms, allMs: all.ms, stopMs: 0, nodeRssMb: mb(rssKb(worker.pid!)) };
  if (started.runDir) {
    const procs = processesIn(started.runDir);
    const jvm = procs.filter((p) => p.args.includes('MultiLangDaemon'));
    const relays = procs.filter((p) => p.args.includes('relay.js'));
    sample.jvmRssMb = mb(jvm.reduce((sum, p) => sum + rssKb(p.pid), 0));
    sample.relayRssMb = mb(relays.reduce((sum, p) => sum + rssKb(p.pid), 0));
    sample.relayPssMb = mb(relays.reduce((sum, p) => sum + pssKb(p.pid), 0));
    sample.relays = relays.length;
  }
  worker.send('stop');
  sample.stopMs = (await next('stopped')).ms;
  await new Promise((resolve) => worker.once('exit', resolve));
  return sample;
}

async function main(): Promise<void> {
  const shards = arg('shards', 4);
  const total = arg('records', 2000);
  const runs = arg('runs', 3);
  const emulators = await startLocalEmulators();
  const kinesis = new KinesisClient({
    ...emulators.workerOptions.kinesis,
    region: emulators.region,
    requestHandler: new NodeHttpHandler(),
  });
  try {
    const stream = `footprint-${Date.now()}`;
    await createStream(kinesis, stream, shards);
    await putRecords(
      kinesis,
      stream,
      Array.from({ length: total }, (_, i) => ({ partitionKey: `pk-${i}`, data: JSON.stringify({ i, pad: 'x'.repeat(100) }) })),
    );
    const options = { ...emulators.workerOptions };
    const samples: Sample[] = [];
    for (let run = 0; run < runs; run++) {
      for (const engine of ['native', 'kcl'] as const) {
        const sample = await measure(engine, stream, total, options);
        samples.push(sample);
        console.log(JSON.stringify(sample));
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    console.log(`\n${shards} shards, ${total} records of ~120 bytes, ${runs} runs each, medians:`);
    for (const engine of ['native', 'kcl'] as const) {
      const of = samples.filter((s) => s.engine === engine);
      const pick = (key: keyof Sample) => median(of.map((s) => Number(s[key] ?? 0)));
      console.log(
        `${engine.padEnd(6)} start() ${pick('startMs')} ms, first record ${pick('firstMs')} ms, all ${pick('allMs')} ms, stop() ${pick('stopMs')} ms; ` +
          `worker process RSS ${pick('nodeRssMb')} MB` +
          (engine === 'kcl'
            ? `, JVM RSS ${pick('jvmRssMb')} MB, ${pick('relays')} relays RSS ${pick('relayRssMb')} MB (PSS ${pick('relayPssMb')} MB)`
            : ''),
      );
    }
  } finally {
    kinesis.destroy();
    await emulators.stop();
  }
}

if (process.argv.includes('--child')) void child();
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
