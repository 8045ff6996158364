import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createWorker, type KinesisWorker } from '../../lib';
import { createStream } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { waitFor } from '../support/wait-for';

/** The CLI spawned as a user runs it: its stdout, stderr and exit code. */
const root = join(__dirname, '..', '..');
const kinesis = kinesisClient();
const dynamo = dynamoClient();
let worker: KinesisWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  options: { env?: Record<string, string>; input?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<Run> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'lib/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    options.onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function runningApp() {
  const stream = uniqueName('cli');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, 2);
  worker = createWorker(
    {
      appName,
      streamName: stream,
      kinesis: { endpoint: endpoints().kinesis },
      dynamodb: { endpoint: endpoints().dynamodb },
      logger: { log() {}, warn() {}, error() {} },
    },
    () => ({
      processRecords() {},
    }),
  );
  await worker.start();
  await waitFor(async () => (await readLeases(dynamo, appName)).filter((l) => l.owner).length === 2, 'both leases owned');
  return { appName, stream };
}

it('leases <appName> prints the lease table (and --json), the endpoint from a flag or from AWS_ENDPOINT_URL_DYNAMODB', async () => {
  const { appName } = await runningApp();
  const table = await cli(['leases', appName, '--dynamodb-endpoint', endpoints().dynamodb]);
  expect(table.code).toBe(0);
  expect(table.stdout).toContain(`Lease table ${appName}: 2 leases, 1 workers.`);
  expect(table.stdout).toMatch(/SHARD\s+OWNER\s+COUNTER\s+CHECKPOINT/);
  expect(table.stdout).toContain('shardId-000000000000');
  expect(table.stdout).toContain(worker!.workerId);
  const json = await cli(['leases', appName, '--json'], { env: { AWS_ENDPOINT_URL_DYNAMODB: endpoints().dynamodb } });
  expect(json.code).toBe(0);
  const rows = JSON.parse(json.stdout) as { shardId: string; owner: string; checkpoint: string }[];
  expect(rows.map((r) => r.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  expect(rows.every((r) => r.owner === worker!.workerId && r.checkpoint === 'TRIM_HORIZON')).toBe(true);
});

it('reset refuses while leases are owned, resets with --force --yes, and asks for the table name otherwise', async () => {
  const { appName } = await runningApp();
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  const refused = await cli(['reset', appName, '--to', 'LATEST', ...dynamodb]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('Refusing: 2 of 2 leases');
  const forced = await cli(['reset', appName, '--to', 'LATEST', '--force', '--yes', ...dynamodb]);
  expect(forced.code).toBe(0);
  expect(forced.stdout).toContain(`Reset 2 checkpoints of ${appName} to LATEST.`);
  expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['LATEST', 'LATEST']);
  await worker!.stop();
  worker = undefined;
  const wrong = await cli(['reset', appName, ...dynamodb], { input: 'not-the-name\n' });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain('Not confirmed');
  const confirmed = await cli(['reset', appName, ...dynamodb], { input: `${appName}\n` });
  expect(confirmed.code).toBe(0);
  expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['TRIM_HORIZON', 'TRIM_HORIZON']);
});

it('usage errors exit 2 with the usage; AWS errors exit 1 with one line', async () => {
  for (const args of [['bogus'], ['leases'], ['reset', 'app', '--to', 'YESTERDAY'], ['leases', 'app', '--nope']]) {
    const run = await cli(args);
    expect([args.join(' '), run.code]).toEqual([args.join(' '), 2]);
    expect(run.stderr).toContain('Usage: kinesis-worker');
  }
  const missing = await cli(['leases', uniqueName('no-such-app'), '--dynamodb-endpoint', endpoints().dynamodb]);
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  expect(missing.stderr).toContain('ResourceNotFoundException');
});

it('local starts the emulators, prints the options, and stops them on Ctrl+C', async () => {
  let kinesisEndpoint = '';
  const run = await cli(['local', '--stream', 'demo', '--shards', '2'], {
    onStdout: (text, child) => {
      const match = /kinesis-local\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match && text.includes('Ctrl+C stops both.') && !kinesisEndpoint) {
        kinesisEndpoint = match[1]!;
        child.kill('SIGINT');
      }
    },
  });
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("(stream 'demo', 2 shards)");
  expect(run.stdout).toContain('KinesisWorkerModule.forRoot(');
  expect(run.stderr).toContain('Emulators stopped.');
  // Nothing answers on the kinesis-local port any more.
  await expect(fetch(kinesisEndpoint)).rejects.toThrow();
});

it('kcl-jars runs the jar provisioning script (cached jars: a quick no-op)', async () => {
  const run = await cli(['kcl-jars'], { env: { KCL_JARS_DIR: join(root, '.kcl', 'jars') } });
  expect(run.code).toBe(0);
});
