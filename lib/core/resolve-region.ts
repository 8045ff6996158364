import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  getHomeDir,
  getProfileName,
  loadConfig,
  loadSharedConfigFiles,
  NODE_REGION_CONFIG_FILE_OPTIONS,
  NODE_REGION_CONFIG_OPTIONS,
} from '@smithy/core/config';

/** What the caller was given: the option (or CLI flag), the Kinesis client's own settings. */
export interface RegionSettings {
  /** The region option, or the CLI's --region; already checked to be a string when set. */
  readonly region?: string;
  /** kinesis.region of the client config: a string, or the SDK's provider function. */
  readonly clientRegion?: unknown;
  /** The profile the shared files are read for (kinesis.profile, the CLI's --profile); else AWS_PROFILE, else default. */
  readonly profile?: string;
}

export interface FoundRegion {
  readonly region: string;
  /** Where it came from, in words for a log line: "AWS_REGION", "profile 'dev' in /home/me/.aws/config". */
  readonly source: string;
}

/** The shared files the SDK reads a profile's region from, and the profile. */
export interface SharedConfigPlaces {
  readonly profile: string;
  /** How the profile was chosen: the setting, AWS_PROFILE, or neither ('default'). */
  readonly profileFrom: 'setting' | 'AWS_PROFILE' | 'default';
  readonly configFile: string;
  readonly credentialsFile: string;
}

/** AWS_REGION is the SDK's; AWS_DEFAULT_REGION the AWS CLI's, which the SDK for JavaScript does not read. */
const ENV_VARIABLES = ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const;

/**
 * The region as the AWS SDK for JavaScript v3 finds it, in this order: the option, the Kinesis client's
 * region, AWS_REGION, AWS_DEFAULT_REGION (which the AWS CLI reads, and this library always has), then the
 * region of the profile in the shared config and credentials files (AWS_PROFILE, AWS_CONFIG_FILE,
 * AWS_SHARED_CREDENTIALS_FILE), read by the SDK's own loader. Undefined when none has one.
 *
 * Unlike the SDK's default chain it never asks the EC2 instance metadata service (IMDS) for a region:
 * off EC2 that costs a timeout at every start, and a worker's region should be written down somewhere.
 */
export async function findRegion(settings: RegionSettings): Promise<FoundRegion | undefined> {
  if (settings.region !== undefined) return { region: settings.region, source: 'the region option' };
  const client = typeof settings.clientRegion === 'function' ? await (settings.clientRegion as () => unknown)() : settings.clientRegion;
  if (typeof client === 'string' && client !== '') return { region: client, source: 'kinesis.region' };
  for (const variable of ENV_VARIABLES) {
    const value = process.env[variable];
    if (value) return { region: value, source: variable };
  }
  const places = sharedConfigPlaces(settings);
  const fromFiles = await loadConfig<string | undefined>(
    {
      // The environment was read above (an empty AWS_REGION counts as unset there; the SDK's selector would return it).
      environmentVariableSelector: () => undefined,
      configFileSelector: NODE_REGION_CONFIG_OPTIONS.configFileSelector,
      // The SDK's default here asks IMDS; ours ends the search.
      default: () => undefined,
    },
    // ignoreCache: a restart (KinesisWorkerService.start() again) reads the files as they are now.
    { ...NODE_REGION_CONFIG_FILE_OPTIONS, profile: settings.profile, ignoreCache: true },
  )();
  if (typeof fromFiles === 'string' && fromFiles !== '') {
    return {
      region: fromFiles,
      source: `profile '${places.profile}' of the shared config files (${places.configFile}, ${places.credentialsFile})`,
    };
  }
  return undefined;
}

/** The profile and files the SDK reads: AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/. */
export function sharedConfigPlaces(settings: Pick<RegionSettings, 'profile'>): SharedConfigPlaces {
  const home = getHomeDir();
  return {
    profile: getProfileName({ profile: settings.profile }),
    profileFrom: settings.profile ? 'setting' : process.env.AWS_PROFILE ? 'AWS_PROFILE' : 'default',
    configFile: process.env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config'),
    credentialsFile: process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials'),
  };
}

/**
 * What each shared file holds for the profile, for an error that says why it gave no region:
 * "/home/me/.aws/config (not found)", "... (no profile 'dev')", "... (profile 'dev' has no region)".
 */
export async function describeSharedConfig(places: SharedConfigPlaces): Promise<string[]> {
  const { configFile, credentialsFile } = await loadSharedConfigFiles({
    configFilepath: places.configFile,
    filepath: places.credentialsFile,
    ignoreCache: true,
  }).catch(() => ({ configFile: {}, credentialsFile: {} }));
  const state = (path: string, parsed: Record<string, unknown>, section: string) => {
    if (!existsSync(path)) return `${path} (not found)`;
    if (!parsed[places.profile]) return `${path} (no ${section} section)`;
    return `${path} (${section} has no region)`;
  };
  const configSection = places.profile === 'default' ? '[default]' : `[profile ${places.profile}]`;
  return [state(places.configFile, configFile, configSection), state(places.credentialsFile, credentialsFile, `[${places.profile}]`)];
}

/** How the caller names its own settings in the message: the worker's options or the CLI's flags. */
export interface RegionSettingNames {
  /** What comes before the environment in the search: "the region option, kinesis.region", "--region". */
  readonly options: string;
  /** What chooses the profile besides AWS_PROFILE: "kinesis.profile", "--profile". */
  readonly profileSetting: string;
  /** The first fix: "region: 'eu-west-1' in KinesisWorkerModule.forRoot", "--region eu-west-1". */
  readonly setIt: string;
}

/** Every place findRegion looked, in order, with why each gave nothing, and the fixes. */
export async function regionNotFound(settings: RegionSettings, names: RegionSettingNames): Promise<string> {
  const places = sharedConfigPlaces(settings);
  const [configFile, credentialsFile] = await describeSharedConfig(places);
  const profile = `profile '${places.profile}' (${
    places.profileFrom === 'setting'
      ? names.profileSetting
      : places.profileFrom === 'AWS_PROFILE'
        ? 'AWS_PROFILE'
        : 'AWS_PROFILE is not set'
  })`;
  const section = places.profile === 'default' ? '[default]' : `[profile ${places.profile}]`;
  return (
    `no AWS region was found. Looked, in order, at: ${names.options}, the environment variables AWS_REGION and AWS_DEFAULT_REGION (none set), ` +
    `and the region of ${profile} in ${configFile} and ${credentialsFile}. The EC2 instance metadata service is not asked. ` +
    `Set ${names.setIt}, or AWS_REGION=eu-west-1 in the environment, or add 'region = eu-west-1' under ${section} in ${places.configFile}.`
  );
}
