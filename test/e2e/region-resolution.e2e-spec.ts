/**
 * The region of a Nest app with none in its options, found as the AWS SDK finds it: a child process
 * whose HOME holds ~/.aws/config with a profile's region (and ~/.aws/credentials with its keys),
 * chosen by AWS_PROFILE, no AWS_REGION. kinesis-local keeps streams per region, so the stream exists
 * only in the profile's region: the worker consuming it proves it used that region.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, endpoints, tableExists, uniqueName } from '../support/aws';
import { nodeScriptArgs } from '../support/compiled-scripts';
import { waitFor } from '../support/wait-for';

const PROFILE_REGION = 'eu-west-3';
const dynamo = dynamoClient();
afterAll(() => dynamo.destroy());

interface Child {
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  running(): boolean;
}

/** The app of test/support/region-app.ts, with only the given AWS variables (none of the test process's). */
function startApp(config: { stream: string; appName: string }, home: string, aws: Record<string, string>): Child {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true', ...aws };
  for (const name of [
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_PROFILE',
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ]) {
    if (!(name in aws)) delete env[name];
  }
  const child = spawn(
    process.execPath,
    [
      ...nodeScriptArgs(join(__dirname, '..', 'support', 'region-app.ts')),
      JSON.stringify({ ...config, kinesisEndpoint: endpoints().kinesis, dynamodbEndpoint: endpoints().dynamodb }),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    output: () => output,
    exited,
    kill: (signal) => child.kill(signal),
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'region-home-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

it('no AWS_REGION: the region and credentials of the AWS_PROFILE profile in ~/.aws/config and ~/.aws/credentials', async () => {
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(home, '.aws', 'config'), `[default]\nregion = us-west-1\n\n[profile e2e-profile]\nregion = ${PROFILE_REGION}\n`);
  writeFileSync(join(home, '.aws', 'credentials'), '[e2e-profile]\naws_access_key_id = local\naws_secret_access_key = local\n');
  const stream = uniqueName('profile-region');
  const appName = uniqueName('profile-region-app');
  const kinesis = new KinesisClient({ endpoint: endpoints().kinesis, region: PROFILE_REGION, requestHandler: new NodeHttpHandler() });
  try {
    await createStream(kinesis, stream, 1);
    await putRecords(kinesis, stream, [{ partitionKey: 'k', data: 'from-the-profile-region' }]);
    const app = startApp({ stream, appName }, home, { AWS_PROFILE: 'e2e-profile' });
    try {
      await waitFor(
        () => app.output().includes('DELIVERED from-the-profile-region') || !app.running(),
        'the record delivered in the child app',
      );
      expect(app.output()).toContain(
        `AWS region ${PROFILE_REGION}, from profile 'e2e-profile' of the shared config files (${join(home, '.aws', 'config')}, ${join(home, '.aws', 'credentials')}).`,
      );
      expect(app.output()).toContain('DELIVERED from-the-profile-region');
      expect(await tableExists(dynamo, appName)).toBe(true);
      app.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(app.output()).not.toMatch(/ERROR/);
    } finally {
      if (app.running()) app.kill('SIGKILL');
    }
  } finally {
    kinesis.destroy();
  }
});

it('nothing configured: the app fails to bootstrap, naming each place it looked and the fix, and creates nothing', async () => {
  const appName = uniqueName('no-region-app');
  const app = startApp({ stream: uniqueName('no-region'), appName }, home, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  try {
    expect(await app.exited).toEqual({ code: 1, signal: null });
    const config = join(home, '.aws', 'config');
    expect(app.output()).toContain(
      "BOOTSTRAP FAILED KinesisWorkerConfigError region: Invalid nestjs-kinesis-worker option 'region': no AWS region was found. " +
        'Looked, in order, at: the region option, kinesis.region, the environment variables AWS_REGION and AWS_DEFAULT_REGION (none set), ' +
        `and the region of profile 'default' (AWS_PROFILE is not set) in ${config} (not found) and ${join(home, '.aws', 'credentials')} (not found). ` +
        'The EC2 instance metadata service is not asked. ' +
        `Set region: 'eu-west-1' in KinesisWorkerModule.forRoot / createWorker, or AWS_REGION=eu-west-1 in the environment, or add 'region = eu-west-1' under [default] in ${config}.`,
    );
    expect(await tableExists(dynamo, appName)).toBe(false);
  } finally {
    if (app.running()) app.kill('SIGKILL');
  }
});
