import { KinesisWorkerConfigError } from './errors';
import type { WorkerLogger } from './logger';
import { findRegion, regionNotFound, type RegionSettings } from './resolve-region';

/**
 * The worker's region as the SDK clients' region provider: found once, at the worker's start (the
 * engines await it before their first call), logged with where it came from, then fixed. A failed
 * search is not kept, so a later start() searches again. Rejects with a KinesisWorkerConfigError that
 * names every place it looked and the fix.
 */
export function workerRegion(settings: RegionSettings, logger: WorkerLogger): () => Promise<string> {
  let found: Promise<string> | undefined;
  return () => {
    found ??= search(settings, logger).catch((error: unknown) => {
      found = undefined;
      throw error;
    });
    return found;
  };
}

async function search(settings: RegionSettings, logger: WorkerLogger): Promise<string> {
  const region = await findRegion(settings);
  if (region) {
    logger.log(`AWS region ${region.region}, from ${region.source}.`);
    return region.region;
  }
  const message = await regionNotFound(settings, {
    options: 'the region option, kinesis.region',
    profileSetting: 'kinesis.profile',
    setIt: "region: 'eu-west-1' in KinesisWorkerModule.forRoot / createWorker",
  });
  throw new KinesisWorkerConfigError(
    'region',
    `${message} Local emulators need one too (any region): the SDK signs every request for a region.`,
  );
}
