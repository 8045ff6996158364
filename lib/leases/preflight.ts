import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import {
  describeError,
  isAccessDenied,
  isCredentialsError,
  isRegionMissing,
  isRejectedCredentials,
  isResourceNotFound,
} from '../core/aws-errors';
import { KinesisWorkerConfigError } from '../core/errors';
import type { ResolvedWorkerOptions } from '../core/options';
import { readKcl3ModeAtStart, requireKcl3LeaseTable, type Kcl3Mode } from './kcl3-application';
import type { LeaseTable } from './lease-table';

/** A lease key no shard has: reading it tells whether the table's key is the KCL's, without changing anything. */
const KEY_SCHEMA_PROBE = 'nestjs-kinesis-worker:key-schema-probe';

const CREDENTIAL_SOURCES =
  "the SDK's default chain found none: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), " +
  'or AWS_PROFILE with ~/.aws/credentials or ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE; `aws sso login` for SSO profiles), ' +
  'or AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or run where a container or instance role is attached; ' +
  'or pass kinesis.credentials and dynamodb.credentials in the options';

interface Call {
  /** The service as the option prefix names it. */
  readonly service: 'kinesis' | 'dynamodb';
  /** The IAM actions the failed step needs. */
  readonly actions: readonly string[];
  /** What the step was doing, for the message. */
  readonly what: string;
}

/**
 * What both engines check before they take a lease: the stream exists and the lease table is usable
 * (for the native engine: also how a Java KCL 3.x fleet runs the application, returned). A failure is a bootstrap error that names the option to fix, not a retry loop.
 */
export async function preflight(kinesis: KinesisClient, table: LeaseTable, options: ResolvedWorkerOptions): Promise<Kcl3Mode> {
  const { streamName, region, tableName } = options;
  const endpoint = options.kinesis.endpoint ? ` at ${String(options.kinesis.endpoint)}` : '';
  const describeStream: Call = { service: 'kinesis', actions: ['kinesis:DescribeStreamSummary'], what: `describe the stream '${streamName}' in ${region}${endpoint}` };
  try {
    await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  } catch (error) {
    if (isResourceNotFound(error)) {
      throw new KinesisWorkerConfigError(
        'stream',
        `the stream '${streamName}' does not exist in ${region}${endpoint}. Create it, or fix the stream name given to @KinesisProcessor / createWorker.`,
      );
    }
    throw bootstrapError(describeStream, error, options);
  }
  // The native engine reads a Java KCL 3.x fleet's migration state before it creates or writes anything.
  const kcl3Mode: Kcl3Mode = options.engine === 'native' ? await readKcl3ModeAtStart(table.client, options.appName, options.coordinatorStateTableName, options.logger) : { kind: 'none' };
  if (kcl3Mode.kind === '3.x') await requireKcl3LeaseTable(table.client, kcl3Mode, options);
  const ensureTable: Call = {
    service: 'dynamodb',
    actions: ['dynamodb:DescribeTable', 'dynamodb:CreateTable'],
    what: `read or create the lease table '${tableName}'`,
  };
  try {
    await table.ensureExists();
  } catch (error) {
    throw bootstrapError(ensureTable, error, options);
  }
  await checkKeySchema(table, options);
  return kcl3Mode;
}

/** An existing table with another key (an 'id' hash key, a range key) is some other application's table. */
async function checkKeySchema(table: LeaseTable, options: ResolvedWorkerOptions): Promise<void> {
  try {
    await table.getLease(KEY_SCHEMA_PROBE);
  } catch (error) {
    if ((error as Error | undefined)?.name === 'ValidationException') {
      const option = tableOption(options);
      throw new KinesisWorkerConfigError(
        option,
        `the table '${options.tableName}' exists but is not a KCL lease table: its key must be the hash key 'leaseKey' (type S) alone, ` +
          `and DynamoDB refused a read by leaseKey (${describeError(error)}). Choose another ${option} (the lease table is created when missing), or delete that table if it is a leftover.`,
      );
    }
    throw bootstrapError({ service: 'dynamodb', actions: ['dynamodb:GetItem'], what: `read the lease table '${options.tableName}'` }, error, options);
  }
}

function tableOption(options: ResolvedWorkerOptions): 'tableName' | 'appName' {
  return options.tableName === options.appName ? 'appName' : 'tableName';
}

/** Tells the usual causes apart, since each has its own fix. */
function bootstrapError(call: Call, error: unknown, options: ResolvedWorkerOptions): KinesisWorkerConfigError {
  const cause = describeError(error);
  const actions = call.actions.join(' and ');
  if (isCredentialsError(error)) {
    return new KinesisWorkerConfigError(`${call.service}.credentials`, `no AWS credentials could be found to ${call.what} (${cause}): ${CREDENTIAL_SOURCES}.`);
  }
  if (isAccessDenied(error)) {
    return new KinesisWorkerConfigError(
      `${call.service}.credentials`,
      `permission denied: the credentials in use may not ${call.what} (${cause}). Allow ${actions} on it in the IAM policy of the worker's role or user ` +
        `(docs/iam.md lists every action the '${options.engine}' engine needs), or use credentials that have it.`,
    );
  }
  if (isRejectedCredentials(error)) {
    return new KinesisWorkerConfigError(
      `${call.service}.credentials`,
      `${call.service === 'kinesis' ? 'Kinesis' : 'DynamoDB'} did not accept the credentials to ${call.what} (${cause}). ` +
        'An expired session token needs fresh temporary credentials; an unrecognized access key or a bad signature means a wrong, deleted or mistyped key, or credentials for another partition or endpoint.',
    );
  }
  if (isRegionMissing(error)) {
    return new KinesisWorkerConfigError('region', `the AWS SDK found no region to ${call.what}: set region in the options, or AWS_REGION.`);
  }
  return new KinesisWorkerConfigError(
    call.service,
    `cannot ${call.what} (${cause}). Check the ${call.service} endpoint, region and credentials, and that the worker may call ${actions}` +
      (call.service === 'dynamodb' ? ', Scan, GetItem, PutItem, UpdateItem and DeleteItem on it.' : ', ListShards, GetShardIterator and GetRecords on it.'),
  );
}
