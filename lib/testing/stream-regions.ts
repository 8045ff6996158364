import { processWide } from './process-wide';

/**
 * The regions kinesis-local keeps apart: like Kinesis itself, it holds a stream per region (a name
 * unknown to it falls back to its default region, so only real ones separate). The first is the
 * emulators' own region (LOCAL_REGION).
 */
export const SEPARATE_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-east-1',
  'ca-central-1',
  'sa-east-1',
  'af-south-1',
  'me-south-1',
];

/**
 * Streams in use by live KinesisTestStreams of this process, as `endpoint region name`: process-wide
 * (process-wide.ts), as every spec file of a jest worker uses the same emulators.
 */
const IN_USE = Symbol.for('nestjs-kinesis-worker/testing/streams-in-use');
const inUse = (): Set<string> => (processWide[IN_USE] ??= new Set<string>()) as Set<string>;

export interface StreamNamesClaim {
  /** The region the streams live in on this emulator; the worker and the test's client use it. */
  readonly region: string;
  release(): void;
}

/**
 * Claims the stream names on a kinesis-local for one KinesisTestStreams: in the first region where
 * none of them is in use by another live one of this process. So two testing modules alive at once
 * (two describe blocks run in parallel, beforeAll of two apps) each get their own `orders`, and each
 * worker sees only its own records; the processors keep the names they have in production.
 */
export function claimStreamNames(endpoint: string, names: readonly string[], preferredRegion = SEPARATE_REGIONS[0]): StreamNamesClaim {
  const used = inUse();
  const key = (region: string, name: string) => `${endpoint} ${region} ${name}`;
  const candidates = [preferredRegion, ...SEPARATE_REGIONS.filter((region) => region !== preferredRegion)];
  const region = candidates.find((candidate) => names.every((name) => !used.has(key(candidate, name))));
  if (region === undefined) {
    throw new Error(
      `Stream(s) ${names.join(', ')} are in use by ${SEPARATE_REGIONS.length} live KinesisTestStreams (or KinesisWorkerTestingModule) of this process, one per region kinesis-local keeps apart: ` +
        'close the ones a test is done with (await app.close() / streams.close(), e.g. in afterEach or afterAll).',
    );
  }
  for (const name of names) used.add(key(region, name));
  let released = false;
  return {
    region,
    release: () => {
      if (released) return;
      released = true;
      for (const name of names) used.delete(key(region, name));
    },
  };
}
