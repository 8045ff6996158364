/**
 * Where a worker (and the CLI) finds its region: the option, kinesis.region, AWS_REGION,
 * AWS_DEFAULT_REGION, then the profile's region in the shared config files, read by the SDK's own
 * loader from real files in a temporary home; never the EC2 instance metadata service.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import { findRegion } from '../../../lib/core/resolve-region';
import { workerRegion } from '../../../lib/core/worker-region';
import { CapturingLogger } from '../../support/capturing-logger';

/** Every variable the search reads, cleared for each test; the search must not depend on the machine's. */
const VARIABLES = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'HOME',
];
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
let home: string;

beforeEach(() => {
  for (const name of VARIABLES) delete process.env[name];
  home = mkdtempSync(join(tmpdir(), 'region-home-'));
  process.env.HOME = home;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function write(relative: string, text: string): string {
  const path = join(home, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('the order of the search', () => {
  beforeEach(() => {
    write('.aws/config', '[default]\nregion = eu-north-1\n');
    process.env.AWS_DEFAULT_REGION = 'ca-central-1';
    process.env.AWS_REGION = 'sa-east-1';
  });

  it('the region option first', async () => {
    expect(await findRegion({ region: 'ap-south-1', clientRegion: 'us-west-2' })).toEqual({
      region: 'ap-south-1',
      source: 'the region option',
    });
  });

  it('then kinesis.region, a string or the SDK provider function', async () => {
    expect(await findRegion({ clientRegion: 'us-west-2' })).toEqual({ region: 'us-west-2', source: 'kinesis.region' });
    expect(await findRegion({ clientRegion: () => Promise.resolve('us-west-1') })).toEqual({
      region: 'us-west-1',
      source: 'kinesis.region',
    });
  });

  it('then AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    expect(await findRegion({})).toEqual({ region: 'sa-east-1', source: 'AWS_REGION' });
    delete process.env.AWS_REGION;
    expect(await findRegion({})).toEqual({ region: 'ca-central-1', source: 'AWS_DEFAULT_REGION' });
  });

  it("then the default profile's region in ~/.aws/config", async () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    expect(await findRegion({})).toEqual({
      region: 'eu-north-1',
      source: `profile 'default' of the shared config files (${join(home, '.aws/config')}, ${join(home, '.aws/credentials')})`,
    });
  });
});

describe('the shared config files', () => {
  it("AWS_PROFILE chooses the profile: [profile dev]'s region", async () => {
    write('.aws/config', '[default]\nregion = eu-north-1\n\n[profile dev]\nregion = eu-west-3\n');
    process.env.AWS_PROFILE = 'dev';
    expect((await findRegion({}))?.region).toBe('eu-west-3');
  });

  it('kinesis.profile chooses it before AWS_PROFILE', async () => {
    write('.aws/config', '[profile dev]\nregion = eu-west-3\n\n[profile ops]\nregion = us-east-2\n');
    process.env.AWS_PROFILE = 'dev';
    expect((await findRegion({ profile: 'ops' }))?.region).toBe('us-east-2');
  });

  it('an empty AWS_REGION counts as unset (the SDK would sign for the region "")', async () => {
    write('.aws/config', '[default]\nregion = eu-north-1\n');
    process.env.AWS_REGION = '';
    expect((await findRegion({}))?.region).toBe('eu-north-1');
  });

  it('AWS_CONFIG_FILE moves the config file', async () => {
    const elsewhere = write('elsewhere/aws-config', '[default]\nregion = me-south-1\n');
    process.env.AWS_CONFIG_FILE = elsewhere;
    expect(await findRegion({})).toMatchObject({ region: 'me-south-1', source: expect.stringContaining(elsewhere) as string });
  });

  it("the credentials file's region counts too, as the SDK reads it (it wins over the config file)", async () => {
    write('.aws/config', '[profile dev]\nregion = eu-west-3\n');
    write('.aws/credentials', '[dev]\naws_access_key_id = a\naws_secret_access_key = b\nregion = eu-central-1\n');
    process.env.AWS_PROFILE = 'dev';
    expect((await findRegion({}))?.region).toBe('eu-central-1');
  });

  it('reads the files again at each search: a worker started again sees an edited file', async () => {
    write('.aws/config', '[default]\nregion = eu-north-1\n');
    expect((await findRegion({}))?.region).toBe('eu-north-1');
    write('.aws/config', '[default]\nregion = eu-south-1\n');
    expect((await findRegion({}))?.region).toBe('eu-south-1');
  });
});

describe('no region anywhere', () => {
  async function failure(settings: Parameters<typeof workerRegion>[0] = {}): Promise<KinesisWorkerConfigError> {
    const error = await workerRegion(settings, new CapturingLogger())().then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }

  it('names the option, the environment variables, the profile and both files (missing), and the fixes', async () => {
    const error = await failure();
    expect(error.option).toBe('region');
    const config = join(home, '.aws', 'config');
    const credentials = join(home, '.aws', 'credentials');
    expect(error.message).toBe(
      "Invalid nestjs-kinesis-worker option 'region': no AWS region was found. Looked, in order, at: the region option, kinesis.region, " +
        "the environment variables AWS_REGION and AWS_DEFAULT_REGION (none set), and the region of profile 'default' (AWS_PROFILE is not set) " +
        `in ${config} (not found) and ${credentials} (not found). The EC2 instance metadata service is not asked. ` +
        "Set region: 'eu-west-1' in KinesisWorkerModule.forRoot / createWorker, or AWS_REGION=eu-west-1 in the environment, " +
        `or add 'region = eu-west-1' under [default] in ${config}. Local emulators need one too (any region): the SDK signs every request for a region.`,
    );
  });

  it('says why each file gave nothing: no section for the profile, or a section without region', async () => {
    const config = write('.aws/config', '[default]\nregion = eu-north-1\n\n[profile dev]\noutput = json\n');
    const credentials = write('.aws/credentials', '[default]\naws_access_key_id = a\naws_secret_access_key = b\n');
    process.env.AWS_PROFILE = 'dev';
    const error = await failure();
    expect(error.message).toContain(
      `the region of profile 'dev' (AWS_PROFILE) in ${config} ([profile dev] has no region) and ${credentials} (no [dev] section).`,
    );
    expect(error.message).toContain(`add 'region = eu-west-1' under [profile dev] in ${config}.`);
  });

  it('names kinesis.profile when that chose the profile', async () => {
    const error = await failure({ profile: 'ops' });
    expect(error.message).toContain("the region of profile 'ops' (kinesis.profile)");
  });

  it('never asks the EC2 instance metadata service, which the SDK region chain of this version does', async () => {
    const requests: string[] = [];
    const imds: Server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.end(request.url === '/latest/api/token' ? 'token' : 'ap-northeast-3');
    });
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve));
    try {
      delete process.env.AWS_EC2_METADATA_DISABLED;
      process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
      expect((await failure()).option).toBe('region');
      expect(requests).toEqual([]);
      // The control: the SDK's own region chain (what a client without a region uses) asks it.
      const sdkRegion = await loadConfig(NODE_REGION_CONFIG_OPTIONS, { ...NODE_REGION_CONFIG_FILE_OPTIONS, ignoreCache: true })();
      expect(sdkRegion).toBe('ap-northeast-3');
      expect(requests).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/placement/region']);
    } finally {
      await new Promise((resolve) => imds.close(resolve));
    }
  });
});

describe("workerRegion: the worker's region provider", () => {
  it('searches once and logs where the region came from', async () => {
    write('.aws/config', '[profile dev]\nregion = eu-west-3\n');
    process.env.AWS_PROFILE = 'dev';
    const logger = new CapturingLogger();
    const region = workerRegion({}, logger);
    expect(await Promise.all([region(), region()])).toEqual(['eu-west-3', 'eu-west-3']);
    expect(await region()).toBe('eu-west-3');
    expect(logger.lines).toEqual([
      `LOG AWS region eu-west-3, from profile 'dev' of the shared config files (${join(home, '.aws/config')}, ${join(home, '.aws/credentials')}).`,
    ]);
  });

  it('does not keep a failed search: once the region is set, the next call finds it', async () => {
    const region = workerRegion({}, new CapturingLogger());
    await expect(region()).rejects.toThrow(KinesisWorkerConfigError);
    process.env.AWS_REGION = 'eu-west-2';
    expect(await region()).toBe('eu-west-2');
  });
});
