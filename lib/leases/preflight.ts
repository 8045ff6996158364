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
import { readKcl3Mode, readKcl3ModeAtStart, requireKcl3LeaseTable, type Kcl3Mode } from './kcl3-application';
import { LeaseTableEntities } from './kcl3-layout';
import type { LeaseTable } from './lease-table';
import { checkLeaseFormat } from './lease-format';
import { streamIdentifierOf } from './stream-identifier';
import { multiStreamScope, singleStreamScope, type StreamLeaseScope } from './stream-lease-scope';

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
 * What both engines check before they take a lease: the stream exists and the lease table is usable;
 * for the native engine also how a Java KCL 3.x fleet runs the application (read before the table is
 * created or written); for both that the table's leases are in the format the options chose (single- or
 * multi-stream). A failure is a bootstrap error that names the option to fix, not a retry loop.
 * Returns what DescribeStreamSummary said of each stream (streamScopesOf makes the lease scopes of it)
 * and the KCL 3.x mode.
 */
export async function preflight(kinesis: KinesisClient, table: LeaseTable, options: ResolvedWorkerOptions): Promise<Preflight> {
  const described: DescribedStream[] = [];
  for (const streamName of options.streams) described.push(await describeStream(kinesis, streamName, options));
  // The native engine reads a Java KCL 3.x fleet's migration state before it creates or writes anything.
  let kcl3Mode: Kcl3Mode =
    options.engine === 'native'
      ? await readKcl3ModeAtStart(table.client, options.appName, options.coordinatorStateTableName, options.logger)
      : { kind: 'none' };
  await requireKcl3Membership(table, kcl3Mode, options);
  const ensureTable: Call = {
    service: 'dynamodb',
    actions: ['dynamodb:DescribeTable', 'dynamodb:CreateTable'],
    what: `read or create the lease table '${options.tableName}'`,
  };
  try {
    await table.ensureExists();
  } catch (error) {
    throw bootstrapError(ensureTable, error, options);
  }
  await checkKeySchema(table, options);
  // After the key schema check: a GetItem by leaseKey on a foreign table is a ValidationException, not an answer.
  // A Java KCL 3.5 fleet keeps its migration state in the lease table (the single-table layout), and that
  // row is then the one the fleet follows: it decides the mode and the layout of this worker's own rows.
  if (options.engine === 'native') {
    const singleTable = await readKcl3Mode(table.client, options.appName, new LeaseTableEntities(options.tableName)).catch(
      (error: unknown) => {
        throw bootstrapError(
          { service: 'dynamodb', actions: ['dynamodb:GetItem'], what: `read the lease table '${options.tableName}'` },
          error,
          options,
        );
      },
    );
    if (singleTable.kind !== 'none') {
      kcl3Mode = singleTable;
      await requireKcl3Membership(table, kcl3Mode, options);
    }
  }
  await checkFormatOfExistingLeases(table, options);
  return { streams: described, kcl3Mode };
}

/** What a native worker needs to join an application in KCL 3.x mode: one stream, and the lease-owner GSI. */
async function requireKcl3Membership(table: LeaseTable, kcl3Mode: Kcl3Mode, options: ResolvedWorkerOptions): Promise<void> {
  if (kcl3Mode.kind !== '3.x') return;
  if (options.multiStream) {
    throw new KinesisWorkerConfigError(
      'streams',
      `the application '${options.appName}' runs in KCL 3.x mode, and the native engine joins a 3.x application with one stream only (its 3.x membership does not know multi-stream lease keys yet). Give each stream its own appName, or run this application's workers in CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X.`,
    );
  }
  await requireKcl3LeaseTable(table.client, kcl3Mode, options);
}

/** What preflight learned: each stream's description and how a Java KCL 3.x fleet runs the application. */
export interface Preflight {
  readonly streams: readonly DescribedStream[];
  readonly kcl3Mode: Kcl3Mode;
}

/** What DescribeStreamSummary said about one stream: what the multi-stream lease keys are made of. */
export interface DescribedStream {
  readonly streamName: string;
  readonly streamArn?: string;
  readonly creationTimestamp?: Date;
}

async function describeStream(kinesis: KinesisClient, streamName: string, options: ResolvedWorkerOptions): Promise<DescribedStream> {
  const region = await options.region();
  const endpoint = options.kinesis.endpoint ? ` at ${endpointInMessage(options.kinesis.endpoint)}` : '';
  const describe: Call = {
    service: 'kinesis',
    actions: ['kinesis:DescribeStreamSummary'],
    what: `describe the stream '${streamName}' in ${region}${endpoint}`,
  };
  try {
    const { StreamDescriptionSummary: summary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    return { streamName, streamArn: summary?.StreamARN, creationTimestamp: summary?.StreamCreationTimestamp };
  } catch (error) {
    if (isResourceNotFound(error)) {
      throw new KinesisWorkerConfigError(
        options.multiStream ? 'streams' : 'stream',
        `the stream '${streamName}' does not exist in ${region}${endpoint}. Create it, or fix the stream name given to @KinesisProcessor / createWorker.`,
      );
    }
    throw bootstrapError(describe, error, options);
  }
}

/**
 * An SDK v3 `endpoint` setting as a message shows it: its URL when it is a string, a URL, an Endpoint or an
 * EndpointV2; a provider function (resolved by the SDK per request) is named as one, not printed as its source.
 */
export function endpointInMessage(endpoint: unknown): string {
  if (typeof endpoint === 'string') return endpoint;
  if (endpoint instanceof URL) return endpoint.href;
  if (endpoint && typeof endpoint === 'object') {
    const { url, protocol, hostname, port, path } = endpoint as {
      url?: unknown;
      protocol?: unknown;
      hostname?: unknown;
      port?: unknown;
      path?: unknown;
    };
    if (typeof url === 'string' || url instanceof URL) return endpointInMessage(url);
    if (typeof hostname === 'string') {
      const scheme = (typeof protocol === 'string' ? protocol : 'https:').replace(/:?$/, ':');
      return `${scheme}//${hostname}${typeof port === 'number' ? `:${port}` : ''}${typeof path === 'string' ? path : ''}`;
    }
  }
  return typeof endpoint === 'function' ? 'the endpoint the kinesis.endpoint provider gives' : 'the kinesis.endpoint given';
}

/** The multi-stream lease identity of each stream: account from the ARN, creation epoch from the summary. */
export function streamScopesOf(described: readonly DescribedStream[], options: ResolvedWorkerOptions): StreamLeaseScope[] {
  if (!options.multiStream) return described.map(({ streamName }) => singleStreamScope(streamName));
  return described.map(({ streamName, streamArn, creationTimestamp }) => {
    const id = streamIdentifierOf(streamName, streamArn, creationTimestamp);
    if (!id) {
      throw new KinesisWorkerConfigError(
        'streams',
        `DescribeStreamSummary of '${streamName}' returned no usable StreamARN (${JSON.stringify(streamArn)}) or StreamCreationTimestamp (${String(creationTimestamp)}); ` +
          'the multi-stream lease key is made of the account in the ARN and the creation time. Check the Kinesis endpoint: an emulator that omits them cannot run a multi-stream application.',
      );
    }
    return multiStreamScope(id);
  });
}

/** A worker of one format on a table of the other would ignore every checkpoint in it (lease-format.ts). */
async function checkFormatOfExistingLeases(table: LeaseTable, options: ResolvedWorkerOptions): Promise<void> {
  let leases;
  try {
    leases = await table.listLeases();
  } catch (error) {
    throw bootstrapError(
      { service: 'dynamodb', actions: ['dynamodb:Scan'], what: `read the lease table '${options.tableName}'` },
      error,
      options,
    );
  }
  checkLeaseFormat(leases, options);
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
    throw bootstrapError(
      { service: 'dynamodb', actions: ['dynamodb:GetItem'], what: `read the lease table '${options.tableName}'` },
      error,
      options,
    );
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
    return new KinesisWorkerConfigError(
      `${call.service}.credentials`,
      `no AWS credentials could be found to ${call.what} (${cause}): ${CREDENTIAL_SOURCES}.`,
    );
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
      (call.service === 'dynamodb'
        ? ', Scan, GetItem, PutItem, UpdateItem and DeleteItem on it.'
        : ', ListShards, GetShardIterator and GetRecords on it.'),
  );
}
