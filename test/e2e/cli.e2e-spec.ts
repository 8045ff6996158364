import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { createWorker, type KinesisWorker, type StreamWorkerOptions } from '../../lib';
import { createStream, faults, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { nodeScriptArgs } from '../support/compiled-scripts';
import { readLeases } from '../support/lease-table';
import { waitFor } from '../support/wait-for';

/** The CLI spawned as a user runs it: its stdout, stderr and exit code. */
const root = join(__dirname, '..', '..');
const kinesis = kinesisClient();
const dynamo = dynamoClient();
let worker: KinesisWorker | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await proxy?.close();
  proxy = undefined;
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
  const child = spawn(process.execPath, [...nodeScriptArgs(join(root, 'lib/cli/main.ts')), ...args], {
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

async function runningApp(streams: Partial<StreamWorkerOptions> = {}) {
  const stream = uniqueName('cli');
  const appName = uniqueName('app');
  const names = streams.streams ?? [stream];
  for (const name of names) await createStream(kinesis, name, 2);
  worker = createWorker(
    {
      appName,
      ...(streams.streams ? { streams: streams.streams } : { streamName: stream }),
      kinesis: { endpoint: endpoints().kinesis },
      dynamodb: { endpoint: endpoints().dynamodb },
      logger: { log() {}, warn() {}, error() {} },
    },
    () => ({
      processRecords() {},
    }),
  );
  await worker.start();
  const leases = 2 * names.length;
  await waitFor(async () => (await readLeases(dynamo, appName)).filter((l) => l.owner).length === leases, 'every lease owned');
  return { appName, stream };
}

/** An application whose worker has stopped: its leases are released (no owner). */
async function stoppedApp(options: Partial<StreamWorkerOptions> = {}) {
  const app = await runningApp(options);
  await worker!.stop();
  worker = undefined;
  return app;
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m);

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

it('usage errors exit 2 with the usage on stderr; help asked for goes to stdout with exit 0; --version prints the package version', async () => {
  for (const args of [
    ['bogus'],
    ['leases'],
    ['reset', 'app', '--to', 'YESTERDAY'],
    ['leases', 'app', '--nope'],
    ['reset', 'app', '--request-timeout', 'soon'],
    [],
  ]) {
    const run = await cli(args);
    expect([args.join(' '), run.code]).toEqual([args.join(' '), 2]);
    expect(run.stderr).toContain('Usage: kinesis-worker');
    expect(run.stdout).toBe('');
  }
  // A subcommand's usage error shows that subcommand's usage.
  expect((await cli(['reset', 'app', '--nope'])).stderr).toContain('Usage: kinesis-worker reset <appName>');
  for (const [args, usage] of [
    [['leases', '--help'], 'Usage: kinesis-worker leases <appName>'],
    [['reset', 'app', '-h'], 'Usage: kinesis-worker reset <appName>'],
    [['local', '--help'], 'Usage: kinesis-worker local'],
    [['help', 'reset'], 'Usage: kinesis-worker reset <appName>'],
    [['--help'], 'Usage: kinesis-worker <command>'],
    [['help'], 'Usage: kinesis-worker <command>'],
  ] as const) {
    const run = await cli([...args]);
    expect([args.join(' '), run.code, run.stderr]).toEqual([args.join(' '), 0, '']);
    expect(run.stdout).toContain(usage);
    expect(run.stdout).toContain('Exit codes:');
  }
  const version = await cli(['--version']);
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
});

it('--kinesis-endpoint is refused with the reason (leases and reset never call Kinesis)', async () => {
  for (const args of [
    ['leases', 'app', '--kinesis-endpoint', 'http://127.0.0.1:1'],
    ['reset', 'app', '--kinesis-endpoint=http://127.0.0.1:1'],
  ]) {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--kinesis-endpoint is gone: leases and reset read and write only the lease table (DynamoDB)');
  }
});

it('a missing lease table: exit 1, naming the table, the application, the region and the endpoint, and what to check', async () => {
  const app = uniqueName('no-such-app');
  const missing = await cli(['leases', app, '--dynamodb-endpoint', endpoints().dynamodb]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(
    `lease table ${app} of application ${app} was not found in region us-east-1 at ${endpoints().dynamodb}.`,
  );
  expect(missing.stderr).toContain('Check: the application name');
  expect(missing.stderr).not.toContain('ResourceNotFoundException');
  noStackTrace(missing.stderr);
  // --table, and the endpoint from AWS_ENDPOINT_URL_DYNAMODB.
  const table = uniqueName('no-such-table');
  const reset = await cli(['reset', app, '--table', table, '--yes'], { env: { AWS_ENDPOINT_URL_DYNAMODB: endpoints().dynamodb } });
  expect(reset.code).toBe(1);
  expect(reset.stderr).toContain(
    `lease table ${table} of application ${app} was not found in region us-east-1 at ${endpoints().dynamodb}.`,
  );
});

it("the region as a worker finds it: the --profile profile's region in ~/.aws/config; none anywhere: exit 1 naming each place", async () => {
  const home = mkdtempSync(join(tmpdir(), 'cli-region-'));
  try {
    const app = uniqueName('no-such-app');
    // No AWS_REGION (empty is unset), nothing from this machine's files: HOME is the temporary folder.
    const env = {
      HOME: home,
      AWS_REGION: '',
      AWS_DEFAULT_REGION: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '',
      AWS_SHARED_CREDENTIALS_FILE: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    for (const name of ['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'] as const) delete (env as Record<string, string>)[name];
    const none = await cli(['leases', app, '--dynamodb-endpoint', endpoints().dynamodb], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      `no AWS region was found. Looked, in order, at: --region, the environment variables AWS_REGION and AWS_DEFAULT_REGION (none set), and the region of profile 'default' (AWS_PROFILE is not set) in ${join(home, '.aws', 'config')} (not found)`,
    );
    expect(none.stderr).toContain('Set --region eu-west-1, or AWS_REGION=eu-west-1 in the environment');
    noStackTrace(none.stderr);

    mkdirSync(join(home, '.aws'));
    writeFileSync(join(home, '.aws', 'config'), '[default]\nregion = us-west-1\n\n[profile ops]\nregion = eu-west-3\n');
    // --profile is the credentials' profile too.
    writeFileSync(join(home, '.aws', 'credentials'), '[ops]\naws_access_key_id = local\naws_secret_access_key = local\n');
    const fromProfile = await cli(['leases', app, '--profile', 'ops', '--dynamodb-endpoint', endpoints().dynamodb], { env });
    expect(fromProfile.code).toBe(1);
    expect(fromProfile.stderr).toContain(
      `lease table ${app} of application ${app} was not found in region eu-west-3 at ${endpoints().dynamodb}.`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

it('leases --watch --json: one JSON document per line per refresh, no escape codes; --watch without a terminal: no escape codes either', async () => {
  const { appName } = await runningApp();
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  const stopAfterTwo = (pattern: RegExp) => (text: string, child: ReturnType<typeof spawn>) => {
    if ((text.match(pattern) ?? []).length >= 2) child.kill('SIGINT');
  };
  const json = await cli(['leases', appName, '--watch', '--json', ...dynamodb], { onStdout: stopAfterTwo(/\]\n/g) });
  expect(json.code).toBe(0);
  expect(json.stdout).not.toContain('\x1b');
  const lines = json.stdout.trim().split('\n');
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const line of lines) {
    const rows = JSON.parse(line) as { shardId: string; owner: string }[];
    expect(rows.map((r) => r.owner)).toEqual([worker!.workerId, worker!.workerId]);
  }
  const text = await cli(['leases', appName, '--watch', ...dynamodb], { onStdout: stopAfterTwo(/^Lease table /gm) });
  expect(text.code).toBe(0);
  expect(text.stdout).not.toContain('\x1b');
  expect(text.stdout.match(/^Lease table .*: 2 leases, 1 workers\.$/gm)!.length).toBeGreaterThanOrEqual(2);
});

it('reset --dry-run prints what it would reset and changes nothing (refusing as the real run would while leases are owned)', async () => {
  const { appName } = await runningApp();
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  const before = await scanRaw(dynamo, appName);
  const refused = await cli(['reset', appName, '--to', 'LATEST', '--dry-run', ...dynamodb]);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain(`Dry run: would reset 2 checkpoints of ${appName} to LATEST; nothing was changed.`);
  expect(refused.stdout).toContain(`shardId-000000000000: TRIM_HORIZON -> LATEST (owner ${worker!.workerId})`);
  expect(refused.stderr).toContain('Refusing: 2 of 2 leases');
  const forced = await cli(['reset', appName, '--to', 'LATEST', '--dry-run', '--force', '--json', ...dynamodb]);
  expect(forced.code).toBe(0);
  const plan = JSON.parse(forced.stdout) as { dryRun: boolean; to: string; reset: { shardId: string; previousCheckpoint: string }[] };
  expect(plan).toMatchObject({ dryRun: true, to: 'LATEST' });
  expect(plan.reset.map((r) => [r.shardId, r.previousCheckpoint])).toEqual([
    ['shardId-000000000000', 'TRIM_HORIZON'],
    ['shardId-000000000001', 'TRIM_HORIZON'],
  ]);
  // Nothing was written: not a checkpoint, not a counter (the worker renews, so only the checkpoints and owners are compared).
  const after = await scanRaw(dynamo, appName);
  expect(after.map((i) => [i.leaseKey.S, i.checkpoint.S, i.leaseOwner?.S])).toEqual(
    before.map((i) => [i.leaseKey.S, i.checkpoint.S, i.leaseOwner?.S]),
  );
});

it('reset --shard resets only that shard and prints the checkpoint it overwrote; --json; a --shard or --stream that matches nothing is an error', async () => {
  const { appName } = await stoppedApp();
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  const one = await cli(['reset', appName, '--to', 'LATEST', '--shard', 'shardId-000000000001', '--yes', ...dynamodb]);
  expect([one.code, one.stderr]).toEqual([0, '']);
  expect(one.stdout).toContain('shardId-000000000001: TRIM_HORIZON -> LATEST');
  expect(one.stdout).toContain(`Reset 1 checkpoints of ${appName} to LATEST.`);
  expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['TRIM_HORIZON', 'LATEST']);
  const json = await cli(['reset', appName, '--to', 'TRIM_HORIZON', '--shard', 'shardId-000000000001', '--yes', '--json', ...dynamodb]);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({
    dryRun: false,
    to: 'TRIM_HORIZON',
    reset: [{ shardId: 'shardId-000000000001', previousCheckpoint: 'LATEST' }],
    changedMeanwhile: [],
  });
  const noShard = await cli(['reset', appName, '--shard', 'shardId-000000000007', '--yes', ...dynamodb]);
  expect(noShard.code).toBe(1);
  expect(noShard.stderr).toContain('--shard shardId-000000000007: no lease of');
  const noStream = await cli(['reset', appName, '--stream', 'orders', '--yes', ...dynamodb]);
  expect(noStream.code).toBe(1);
  expect(noStream.stderr).toContain('name no stream (a single-stream application');
  expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['TRIM_HORIZON', 'TRIM_HORIZON']);
});

it('reset --stream resets the leases of one stream of a multi-stream application; --shard alone is ambiguous there', async () => {
  const orders = uniqueName('orders');
  const payments = uniqueName('payments');
  const { appName } = await stoppedApp({ streams: [orders, payments] });
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  const run = await cli(['reset', appName, '--to', 'LATEST', '--stream', payments, '--yes', '--json', ...dynamodb]);
  expect([run.code, run.stderr]).toEqual([0, '']);
  expect((JSON.parse(run.stdout) as { reset: { leaseKey: string }[] }).reset.map((r) => r.leaseKey.split(':')[1])).toEqual([
    payments,
    payments,
  ]);
  const rows = await scanRaw(dynamo, appName);
  const checkpoints = rows.map((row) => `${row.leaseKey.S!.split(':')[1]} ${row.checkpoint.S}`).sort();
  expect(checkpoints).toEqual([`${orders} TRIM_HORIZON`, `${orders} TRIM_HORIZON`, `${payments} LATEST`, `${payments} LATEST`].sort());
  const ambiguous = await cli(['reset', appName, '--shard', 'shardId-000000000000', '--yes', ...dynamodb]);
  expect(ambiguous.code).toBe(1);
  expect(ambiguous.stderr).toContain('--shard shardId-000000000000 is a shard of 2 streams');
  const both = await cli(['reset', appName, '--to', 'LATEST', '--stream', orders, '--shard', 'shardId-000000000000', '--yes', ...dynamodb]);
  expect(both.code).toBe(0);
  expect(both.stdout).toContain(`Reset 1 checkpoints of ${appName} to LATEST.`);
});

it('a lease with only checkpointOwner (KCL 3.x hand-over whose previous owner still processes the shard) counts as owned', async () => {
  const { appName } = await stoppedApp();
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  // What a KCL 3.x leader's hand-over leaves when the new owner let go before the previous owner finished:
  // checkpointOwner names the worker still processing the shard, leaseOwner is gone.
  await dynamo.send(
    new UpdateItemCommand({
      TableName: appName,
      Key: { leaseKey: { S: 'shardId-000000000000' } },
      UpdateExpression: 'SET checkpointOwner = :previous',
      ExpressionAttributeValues: { ':previous': { S: 'worker-finishing' } },
    }),
  );
  const refused = await cli(['reset', appName, '--to', 'LATEST', '--yes', ...dynamodb]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('Refusing: 1 of 2 leases');
  expect(refused.stderr).toContain('worker-finishing');
  const leases = await cli(['leases', appName, ...dynamodb]);
  expect(leases.stdout).toMatch(/shardId-000000000000\s+\(none\) <- worker-finishing/);
  expect(leases.stdout).toContain('2 leases, 1 workers.');
  const json = JSON.parse((await cli(['leases', appName, '--json', ...dynamodb])).stdout) as { checkpointOwner: string | null }[];
  expect(json.map((r) => r.checkpointOwner)).toEqual(['worker-finishing', null]);
  // Only the other shard: nothing owned among the picked leases.
  const other = await cli(['reset', appName, '--to', 'LATEST', '--shard', 'shardId-000000000001', '--yes', ...dynamodb]);
  expect(other.code).toBe(0);
  const forced = await cli(['reset', appName, '--to', 'LATEST', '--force', '--yes', ...dynamodb]);
  expect(forced.code).toBe(0);
  expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['LATEST', 'LATEST']);
});

it('a KCL 3.5 single-table application: leases and reset show and reset the leases only, say nothing of the entity rows, and leave them as they are', async () => {
  const { appName } = await stoppedApp();
  const dynamodb = ['--dynamodb-endpoint', endpoints().dynamodb];
  // The rows a Java KCL 3.5.1 worker keeps in the lease table (shapes asserted in kcl35-rows.e2e-spec.ts).
  const entities: Record<string, AttributeValue>[] = [
    {
      leaseKey: { S: 'Migration3.0' },
      entityType: { S: 'CLIENT_VERSION_MIGRATION' },
      cv: { S: 'CLIENT_VERSION_3X' },
      mb: { S: 'java-1' },
      mts: { N: '1' },
    },
    {
      leaseKey: { S: 'Leader' },
      entityType: { S: 'LEADER' },
      ownerName: { S: 'java-1' },
      recordVersionNumber: { S: 'v1' },
      leaseDuration: { S: '120000' },
    },
    {
      leaseKey: { S: 'java-1' },
      entityType: { S: 'WORKER_METRIC_STATS' },
      lut: { N: '1' },
      sts: { M: {} },
      opr: { M: {} },
      sup: { N: '1' },
      slu: { N: '1' },
    },
  ];
  for (const Item of entities) await dynamo.send(new PutItemCommand({ TableName: appName, Item }));
  const entityRows = async () =>
    (await scanRaw(dynamo, appName)).filter((row) => row.entityType?.S !== undefined && row.entityType.S !== 'LEASE');
  const before = await entityRows();
  expect(before).toHaveLength(3);

  const table = await cli(['leases', appName, ...dynamodb]);
  expect(table.code).toBe(0);
  expect(table.stdout).toContain(`Lease table ${appName}: 2 leases`);
  expect(table.stdout).not.toMatch(/Leader|Migration3\.0|java-1/);
  expect(table.stderr).toBe('');
  const json = JSON.parse((await cli(['leases', appName, '--json', ...dynamodb])).stdout) as { shardId: string }[];
  expect(json.map((r) => r.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);

  const reset = await cli(['reset', appName, '--to', 'LATEST', '--yes', ...dynamodb]);
  expect(reset.code).toBe(0);
  expect(reset.stderr).toBe('');
  expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['LATEST', 'LATEST']);
  expect(await entityRows()).toEqual(before);
});

describe('AWS failures through the fault proxy: a message that says what failed and what to check, exit 1, no stack trace', () => {
  it('throttling (after the SDK retried)', async () => {
    const { appName } = await stoppedApp();
    proxy = await startFaultProxy({ target: endpoints().dynamodb });
    proxy.set('Scan', 'throttle');
    const run = await cli(['leases', appName, '--dynamodb-endpoint', proxy.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `DynamoDB throttled dynamodb:Scan after \\d+ attempts on table ${appName} \\(application ${appName}\\), region us-east-1, endpoint ${proxy.url}`,
      ),
    );
    expect(proxy.count('Scan')).toBeGreaterThan(1);
    noStackTrace(run.stderr);
  });

  it('a timeout (--request-timeout, AWS_MAX_ATTEMPTS)', async () => {
    const { appName } = await stoppedApp();
    proxy = await startFaultProxy({ target: endpoints().dynamodb });
    proxy.set('Scan', 'blackhole');
    const run = await cli(['leases', appName, '--dynamodb-endpoint', proxy.url, '--request-timeout', '1'], {
      env: { AWS_MAX_ATTEMPTS: '2' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no answer from DynamoDB within 1 s after 2 attempts (dynamodb:Scan) on table ${appName}`);
    expect(run.stderr).toContain('--request-timeout SECONDS waits longer');
    expect(proxy.count('Scan')).toBe(2);
    noStackTrace(run.stderr);
  });

  it('a reset that fails for good half-way says which checkpoints it reset and which not', async () => {
    const { appName } = await stoppedApp();
    proxy = await startFaultProxy({ target: endpoints().dynamodb });
    proxy.set(
      (request) => request.operation === 'UpdateItem' && JSON.stringify(request.body).includes('shardId-000000000001'),
      faults.error(400, 'AccessDeniedException', 'User is not authorized to perform: dynamodb:UpdateItem'),
    );
    const run = await cli(['reset', appName, '--to', 'LATEST', '--yes', '--dynamodb-endpoint', proxy.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('shardId-000000000000: TRIM_HORIZON -> LATEST');
    expect(run.stderr).toContain(`dynamodb:UpdateItem was denied on table ${appName}`);
    expect(run.stderr).toContain('Reset 1 of 2 checkpoints before the failure (shardId-000000000000); not reset: shardId-000000000001.');
    expect(run.stderr).toContain('must allow dynamodb:UpdateItem');
    noStackTrace(run.stderr);
    expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['LATEST', 'TRIM_HORIZON']);
  });

  it('connections reset', async () => {
    const { appName } = await stoppedApp();
    proxy = await startFaultProxy({ target: endpoints().dynamodb });
    proxy.set('Scan', 'reset');
    const run = await cli(['leases', appName, '--dynamodb-endpoint', proxy.url], { env: { AWS_MAX_ATTEMPTS: '2' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the connection to DynamoDB failed (ECONNRESET) after 2 attempts for dynamodb:Scan on table ${appName}`);
    noStackTrace(run.stderr);
  });
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

it('local --json prints one JSON document with the endpoints and options, and no escape codes', async () => {
  let dynamodbEndpoint = '';
  const run = await cli(['local', '--stream', 'demo-json', '--shards', '1', '--json'], {
    onStdout: (text, child) => {
      if (text.endsWith('\n') && !dynamodbEndpoint) {
        dynamodbEndpoint = (JSON.parse(text) as { dynamodbEndpoint: string }).dynamodbEndpoint;
        child.kill('SIGINT');
      }
    },
  });
  expect(run.code).toBe(0);
  expect(run.stdout).not.toContain('\x1b');
  const printed = JSON.parse(run.stdout) as { stream: string; shards: number; options: { appName: string }; env: Record<string, string> };
  expect(printed).toMatchObject({ stream: 'demo-json', shards: 1, options: { appName: 'my-app' } });
  expect(printed.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(dynamodbEndpoint);
});

it('kcl-jars runs the jar provisioning script (cached jars: a quick no-op)', async () => {
  const run = await cli(['kcl-jars'], { env: { KCL_JARS_DIR: join(root, '.kcl', 'jars') } });
  expect(run.code).toBe(0);
});
