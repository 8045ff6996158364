import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { ListStreamsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { sleep } from '../core/sleep';
import { freePort } from './free-port';
import { optionalResolve } from './optional-require';

export interface LocalKinesis {
  readonly endpoint: string;
  readonly port: number;
  readonly tlsPort: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

/**
 * Starts kinesis-local (kinesis-mock compiled to JS) as a child process on loopback ports, with
 * reshard and stream operations shortened to milliseconds, and waits until it answers.
 */
export interface LocalKinesisOptions {
  port?: number;
  tlsPort?: number;
  timeoutMs?: number;
  /**
   * Keep streams and records in this directory across restarts (kinesis-mock's own persistence,
   * written every 200 ms): a kinesis-local started again on the same port and directory resumes
   * where the previous one stopped, which is how the tests kill and restart Kinesis mid-run.
   */
  persistDir?: string;
  /**
   * Let this process exit while kinesis-local runs, and end kinesis-local when this process ends, however
   * it ends (kinesis-local watches its stdin, which closes with this process). For emulators shared by the
   * tests of one process (sharedEmulators()), that no test stops.
   */
  exitWithParent?: boolean;
}

/** Runs kinesis-local's main in a process that exits once its stdin closes, i.e. when its parent is gone. */
const WATCH_PARENT =
  "process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume(); require(process.argv[1]);";

export async function startLocalKinesis(options: LocalKinesisOptions = {}): Promise<LocalKinesis> {
  const main = optionalResolve('kinesis-local', '/main.js');
  const port = options.port ?? (await freePort());
  const tlsPort = options.tlsPort ?? (await freePort());
  const quick = '20ms';
  const args = options.exitWithParent ? ['-e', WATCH_PARENT, main] : [main];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(port),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: join(dirname(main), 'server.json'),
      CATS_EFFECT_SHUTDOWN_HOOK_TIMEOUT: '0s',
      LOG_LEVEL: 'ERROR',
      SHARD_LIMIT: '1000',
      CREATE_STREAM_DURATION: quick,
      DELETE_STREAM_DURATION: quick,
      UPDATE_SHARD_COUNT_DURATION: quick,
      SPLIT_SHARD_DURATION: quick,
      MERGE_SHARDS_DURATION: quick,
      REGISTER_STREAM_CONSUMER_DURATION: quick,
      DEREGISTER_STREAM_CONSUMER_DURATION: quick,
      START_STREAM_ENCRYPTION_DURATION: quick,
      STOP_STREAM_ENCRYPTION_DURATION: quick,
      ...(options.persistDir
        ? { SHOULD_PERSIST_DATA: 'true', PERSIST_PATH: options.persistDir, PERSIST_INTERVAL: '200ms', LOAD_DATA_IF_EXISTS: 'true' }
        : {}),
    },
    stdio: [options.exitWithParent ? 'pipe' : 'ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new KinesisClient({
    region: LOCAL_REGION,
    endpoint,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`kinesis-local exited with code ${child.exitCode}: ${stderr}`);
      try {
        await client.send(new ListStreamsCommand({}));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`kinesis-local did not answer on ${endpoint} in time: ${stderr}`);
        await sleep(100);
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  if (options.exitWithParent) {
    child.unref();
    for (const stream of [child.stdin, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
  return {
    endpoint,
    port,
    tlsPort,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
