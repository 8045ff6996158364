import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsFlags {
  region?: string;
  profile?: string;
  'dynamodb-endpoint'?: string;
  'kinesis-endpoint'?: string;
}

/**
 * Clients resolved as the AWS CLI resolves them: region from --region, AWS_REGION or the profile;
 * credentials from the SDK's default chain (or --profile); endpoints from the flags, else from
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL, which the SDK reads itself.
 * --profile is AWS_PROFILE, which the SDK's default chain and region lookup read.
 */
export function cliClients(flags: AwsFlags): { dynamodb: DynamoDBClient; kinesis: KinesisClient } {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  const common = {
    ...(flags.region ? { region: flags.region } : {}),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true }),
  };
  return {
    dynamodb: new DynamoDBClient({ ...common, ...(flags['dynamodb-endpoint'] ? { endpoint: flags['dynamodb-endpoint'] } : {}) }),
    kinesis: new KinesisClient({ ...common, ...(flags['kinesis-endpoint'] ? { endpoint: flags['kinesis-endpoint'] } : {}) }),
  };
}
