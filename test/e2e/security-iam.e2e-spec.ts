import { readFileSync } from 'node:fs';
import { connect as http2Connect, createServer as createHttp2Server, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { createWorker, type EngineName, type KinesisRecordProcessor } from '../../lib';
import { createStream, putRecords, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';

/**
 * The IAM policies of docs/iam.md against what each engine really sends, over a whole life: start on
 * a fresh application, processing and checkpoints, a split (the parent reaches SHARD_END, the children
 * are processed, the parent's lease is removed), stop. An operation missing from the policy fails the
 * test, and so does a policy action the run never needed (unless docs/iam.md calls it conditional).
 */
const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

/**
 * Policy actions this run may not see, as docs/iam.md explains: metrics are off (metricsLevel NONE), and
 * the Java KCL deletes a finished lease only minutes after its children start (a fixed 5-minute
 * interval that the MultiLangDaemon does not expose).
 */
const NOT_EXERCISED: Record<EngineName, ReadonlySet<string>> = {
  native: new Set(),
  kcl: new Set(['cloudwatch:PutMetricData', 'dynamodb:DeleteItem']),
};

function documentedPolicy(engine: EngineName): Set<string> {
  const doc = readFileSync(join(__dirname, '../../docs/iam.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${engine} engine`));
  const json = section && /```json\n([\s\S]*?)```/.exec(section)?.[1];
  if (!json) throw new Error(`docs/iam.md has no JSON policy under "## ${engine} engine"`);
  const policy = JSON.parse(json) as { Statement: { Effect: string; Action: string | string[] }[] };
  return new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()));
}

interface RecordingEndpoint {
  readonly url: string;
  /** IAM actions of the HTTP/2 requests (the Java KCL's Kinesis client). */
  readonly http2Actions: Set<string>;
  close(): Promise<void>;
}

/**
 * One port for two protocols: HTTP/1.1 connections are passed byte for byte to the fault proxy, HTTP/2
 * ones (the Java Kinesis client's h2c) to a relay that records X-Amz-Target and forwards to the
 * emulator over h2c. The first bytes of a connection tell them apart: HTTP/2 opens with its preface.
 */
async function recordingKinesisEndpoint(proxy: FaultProxy, target: string): Promise<RecordingEndpoint> {
  const http2Actions = new Set<string>();
  const sockets = new Set<Socket>();
  let upstream: ClientHttp2Session | undefined;
  const session = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2Connect(target);
      upstream.on('error', () => undefined);
    }
    return upstream;
  };
  const relay = createHttp2Server();
  relay.on('stream', (stream, headers: IncomingHttpHeaders) => {
    const amzTarget = String(headers['x-amz-target'] ?? '');
    if (amzTarget.startsWith('Kinesis_')) http2Actions.add(`kinesis:${amzTarget.slice(amzTarget.indexOf('.') + 1)}`);
    const forwarded = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== ':authority' && name !== ':scheme'));
    const out = session().request(forwarded);
    out.on('response', (answer) => {
      const { ':status': status, ...rest } = answer;
      if (!stream.destroyed) stream.respond({ ':status': status, ...rest });
      out.pipe(stream);
    });
    out.on('error', () => stream.destroy());
    stream.on('error', () => out.destroy());
    stream.pipe(out);
  });
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.subarray(0, 14).toString('latin1') === 'PRI * HTTP/2.0') {
        relay.emit('connection', replayingFirstChunk(socket, first));
        return;
      }
      const out = netConnect(proxy.port, '127.0.0.1');
      sockets.add(out);
      out.on('close', () => sockets.delete(out));
      out.on('error', () => socket.destroy());
      socket.on('close', () => out.destroy());
      out.write(first);
      socket.pipe(out).pipe(socket);
      socket.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    http2Actions,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      upstream?.destroy();
      relay.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The socket as a plain stream that yields `first` again before the rest. Node's HTTP/2 server reads a
 * net.Socket through its native handle, past anything unshifted in JavaScript; a plain Duplex it reads
 * in JavaScript, so the preface already consumed by the sniffing reaches it.
 */
function replayingFirstChunk(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    final: (done) => void socket.end(done),
    destroy: (error, done) => {
      socket.destroy();
      done(error);
    },
  });
  duplex.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.resume();
  return duplex;
}

describe.each<EngineName>(['native', 'kcl'])('the IAM policy of the %s engine in docs/iam.md', (engine) => {
  it('lists every operation the engine sends through start, processing, checkpoints, a split and stop, and nothing it never needs', async () => {
    const policy = documentedPolicy(engine);
    const kinesisProxy = await startFaultProxy({ target: endpoints().kinesis });
    const dynamoProxy = await startFaultProxy({ target: endpoints().dynamodb });
    const kinesisEndpoint = await recordingKinesisEndpoint(kinesisProxy, endpoints().kinesis);
    try {
      const stream = uniqueName('iam');
      await createStream(kinesis, stream, 1);
      const before = (
        await putRecords(
          kinesis,
          stream,
          Array.from({ length: 10 }, (_, i) => ({ partitionKey: `k-${i}`, data: `before-${i}` })),
        )
      ).length;
      const delivered = new Map<string, Set<string>>();
      const shardEnded = new Set<string>();
      const processor = (): KinesisRecordProcessor => ({
        async processRecords({ shardId, records, checkpointer }) {
          const seen = delivered.get(shardId) ?? new Set<string>();
          records.forEach((r) => seen.add(r.data.toString()));
          delivered.set(shardId, seen);
          await checkpointer.checkpoint();
        },
        async shutdown({ shardId, reason, checkpointer }) {
          if (reason === 'TERMINATE') shardEnded.add(shardId);
          if (reason !== 'ZOMBIE') await checkpointer?.checkpoint();
        },
      });
      const worker = createWorker(
        {
          engine,
          appName: uniqueName('iam-app'),
          streamName: stream,
          failoverTimeMs: 3_000,
          idleTimeBetweenReadsMs: 50,
          shardSyncIntervalMs: 1_000,
          parentShardPollIntervalMs: 200,
          kinesis: { endpoint: kinesisEndpoint.url },
          dynamodb: { endpoint: dynamoProxy.url },
          logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
        },
        processor,
      );
      const count = () => [...delivered.values()].reduce((n, set) => n + set.size, 0);
      await worker.start();
      try {
        await waitFor(() => count() >= before, 'the first records', 90_000);
        await splitShard(kinesis, stream, 'shardId-000000000000');
        const children = (await listShards(kinesis, stream))
          .filter((s) => s.ParentShardId === 'shardId-000000000000')
          .map((s) => s.ShardId!);
        const after = await putRecords(
          kinesis,
          stream,
          Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k-${i}`, data: `after-${i}` })),
        );
        await waitFor(() => shardEnded.has('shardId-000000000000'), 'the parent shard to end', 90_000);
        await waitFor(() => count() >= before + after.length, 'the records on the children', 90_000);
        expect(children.every((child) => delivered.has(child))).toBe(true);
        // The native engine removes the finished parent's lease once its children run: that is DeleteItem.
        if (engine === 'native') await waitFor(() => dynamoProxy.count('DeleteItem') > 0, "the parent's lease to be removed");
      } finally {
        await worker.stop();
      }

      const sent = new Set([...kinesisProxy.operations(), ...kinesisEndpoint.http2Actions, ...dynamoProxy.operations()]);
      const notInPolicy = [...sent].filter((action) => !policy.has(action)).sort();
      const neverUsed = [...policy].filter((action) => !sent.has(action) && !NOT_EXERCISED[engine].has(action)).sort();
      expect({ notInPolicy, neverUsed }).toEqual({ notInPolicy: [], neverUsed: [] });
      if (engine === 'kcl') {
        // The JVM's own Kinesis calls were seen (over HTTP/2), not only those of the Node side.
        expect([...kinesisEndpoint.http2Actions]).toEqual(expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator']));
      }
    } finally {
      await kinesisEndpoint.close();
      await kinesisProxy.close();
      await dynamoProxy.close();
    }
  }, 240_000);
});
