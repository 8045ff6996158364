import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

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
 * The client resolved as the AWS CLI resolves it: region from --region, AWS_REGION or the profile;
 * credentials from the SDK's default chain (or --profile); endpoint from --dynamodb-endpoint, else
 * from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL, which the SDK reads itself. --profile is
 * AWS_PROFILE, which the SDK's default chain and region lookup read. Throttling, 5xx and timeouts are
 * retried by the SDK (AWS_MAX_ATTEMPTS attempts, else the SDK's default); each attempt waits
 * at most --request-timeout seconds.
 */
export function cliDynamoDb(flags: AwsFlags, requestTimeoutS: number): CliDynamoDb {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  const client = new DynamoDBClient({
    ...(flags.region ? { region: flags.region } : {}),
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
    async target() {
      const region = await client.config.region().catch(() => undefined);
      const configured = flags['dynamodb-endpoint'] ?? process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL;
      const endpoint = lastEndpoint ?? configured ?? (region ? `https://dynamodb.${region}.amazonaws.com` : '(no endpoint: no region)');
      return { region, endpoint };
    },
  };
}
