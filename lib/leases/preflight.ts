import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describeError, isResourceNotFound } from '../core/aws-errors';
import { KinesisWorkerConfigError } from '../core/errors';
import type { ResolvedWorkerOptions } from '../core/options';
import { refuseKcl3ModeApplication } from './kcl3-application';
import type { LeaseTable } from './lease-table';

/**
 * What both engines check before they take a lease: the stream exists and the lease table is usable;
 * for the native engine also that no Java KCL 3.x fleet runs the application in 3.x mode (checked before
 * the table is created or written). A failure is a bootstrap error that names the option to fix, not a retry loop.
 */
export async function preflight(kinesis: KinesisClient, table: LeaseTable, options: ResolvedWorkerOptions): Promise<void> {
  const { streamName, region, tableName } = options;
  const endpoint = options.kinesis.endpoint ? ` at ${String(options.kinesis.endpoint)}` : '';
  try {
    await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  } catch (error) {
    if (isResourceNotFound(error)) {
      throw new KinesisWorkerConfigError(
        'stream',
        `the stream '${streamName}' does not exist in ${region}${endpoint}. Create it, or fix the stream name given to @KinesisProcessor / createWorker.`,
      );
    }
    throw new KinesisWorkerConfigError(
      'kinesis',
      `cannot describe the stream '${streamName}' in ${region}${endpoint} (${describeError(error)}). Check the kinesis endpoint, region and credentials.`,
    );
  }
  if (options.engine === 'native') await refuseKcl3ModeApplication(table.client, options.appName, options.logger);
  try {
    await table.ensureExists();
  } catch (error) {
    throw new KinesisWorkerConfigError(
      'dynamodb',
      `cannot create or read the lease table '${tableName}' (${describeError(error)}). Check the dynamodb endpoint, region and credentials, and that the worker may call DescribeTable, CreateTable, Scan, GetItem, PutItem, UpdateItem and DeleteItem on it.`,
    );
  }
}
