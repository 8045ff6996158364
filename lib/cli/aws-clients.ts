import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { findRegion, regionNotFound } from '../core/resolve-region';
import { CliError } from './errors';

export interface AwsFlags {
  region?: string;
  profile?: string;
  'dynamodb-endpoint'?: string;
  'request-timeout'?: string;
}

/** Seconds an attempt may wait for DynamoDB's answer, unless --request-timeout says otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_S = 30;

/** A DynamoDB client, and where its requests went: the region and the endpoint an error message names. */
export interface CliDynamoDb {
  readonly client: DynamoDBClient;
  readonly requestTimeoutS: number;
  /** The region and endpoint, as far as they are known (the endpoint of the last request sent, else the configured one). */
  target(): Promise<{ region: string | undefined; endpoint: string }>;
}

/**
 * The client resolved as a worker resolves it (core/resolve-region.ts): region from --region,
 * AWS_REGION, AWS_DEFAULT_REGION, then the region of the profile (--profile, else AWS_PROFILE) in the
 * shared config files, never the EC2 instance metadata; none is a CliError naming each place.
 * Credentials from the SDK's default chain (or --profile); endpoint from --dynamodb-endpoint, else
 * from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL, which the SDK reads itself. --profile is
 * AWS_PROFILE, which the SDK's default credentials chain reads. Throttling, 5xx and timeouts are
 * retried by the SDK (AWS_MAX_ATTEMPTS attempts, else the SDK's default); each attempt waits
 * at most --request-timeout seconds.
 */
export async function cliDynamoDb(flags: AwsFlags, requestTimeoutS: number): Promise<CliDynamoDb> {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  const settings = { region: flags.region || undefined, profile: flags.profile || undefined };
  const found = await findRegion(settings);
  if (!found) {
    throw new CliError(await regionNotFound(settings, { options: '--region', profileSetting: '--profile', setIt: '--region eu-west-1' }));
  }
  const region = found.region;
  const client = new DynamoDBClient({
    region,
    ...(flags['dynamodb-endpoint'] ? { endpoint: flags['dynamodb-endpoint'] } : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(5_000, requestTimeoutS * 1000),
      requestTimeout: requestTimeoutS * 1000,
      throwOnRequestTimeout: true,
    }),
  });
  let lastEndpoint: string | undefined;
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { protocol?: string; hostname?: string; port?: number };
      if (request.hostname) lastEndpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'kinesisWorkerCliEndpoint' },
  );
  return {
    client,
    requestTimeoutS,
    // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; the region is known here
    async target() {
      const configured = flags['dynamodb-endpoint'] ?? process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL;
      const endpoint = lastEndpoint ?? configured ?? `https://dynamodb.${region}.amazonaws.com`;
      return { region, endpoint };
    },
  };
}
