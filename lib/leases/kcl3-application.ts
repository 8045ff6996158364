import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError, isResourceNotFound } from '../core/aws-errors';
import { KinesisWorkerConfigError } from '../core/errors';
import type { WorkerLogger } from '../core/logger';

/**
 * How a Java KCL 3.x fleet runs an application, read from its migration state (docs/kcl3-protocol.md):
 * the item 'Migration3.0' of the coordinator state table <applicationName>-CoordinatorState.
 *
 * - CLIENT_VERSION_2X / CLIENT_VERSION_UPGRADE_FROM_2X: the 3.x workers follow the 2.x lease rules
 *   (taking expired leases, stealing): a native worker may share the application.
 * - CLIENT_VERSION_3X_WITH_ROLLBACK / CLIENT_VERSION_3X: a leader assigns every lease (the
 *   LeaseAssignmentManager) to the workers that publish worker metrics; a worker that takes leases by the
 *   2.x rules would fight it over every lease.
 *
 * This item is the signal the Java KCL itself uses to choose its lease assignment; the other traces of
 * 3.x (the LeaseOwnerToLeaseKeyIndex GSI, the WorkerMetricStats table, throughputKBps on leases) are also
 * present in the compatible mode, so they cannot tell the two apart.
 */
export type Kcl3Mode =
  | { readonly kind: 'none' }
  | { readonly kind: 'compatible' | '3.x'; readonly clientVersion: string; readonly modifiedBy?: string; readonly table: string };

export const MIGRATION_STATE_KEY = 'Migration3.0';
const ASSIGNED_BY_LEADER = new Set(['CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X']);

export const coordinatorStateTable = (appName: string): string => `${appName}-CoordinatorState`;

/** The mode of the application, or 'none' when no 3.x worker has ever run it (no table or no item). */
export async function readKcl3Mode(client: DynamoDBClient, appName: string): Promise<Kcl3Mode> {
  const table = coordinatorStateTable(appName);
  let item;
  try {
    ({ Item: item } = await client.send(new GetItemCommand({ TableName: table, Key: { key: { S: MIGRATION_STATE_KEY } }, ConsistentRead: true })));
  } catch (error) {
    if (isResourceNotFound(error)) return { kind: 'none' };
    throw error;
  }
  const clientVersion = item?.cv?.S;
  if (!clientVersion) return { kind: 'none' };
  return { kind: ASSIGNED_BY_LEADER.has(clientVersion) ? '3.x' : 'compatible', clientVersion, modifiedBy: item?.mb?.S, table };
}

/**
 * Refuses to start a worker that takes leases by the 2.x rules in an application that a KCL 3.x fleet
 * runs in 3.x mode. Reads only: the lease table is not touched. When the coordinator state cannot be
 * read for another reason than its absence (permissions), the worker starts with a warning: it cannot
 * tell, and refusing would stop every deployment whose policy does not name that table.
 */
export async function refuseKcl3ModeApplication(client: DynamoDBClient, appName: string, logger: WorkerLogger): Promise<void> {
  let mode: Kcl3Mode;
  try {
    mode = await readKcl3Mode(client, appName);
  } catch (error) {
    logger.warn(
      `Could not read ${coordinatorStateTable(appName)} to check that no Java KCL 3.x fleet runs '${appName}' in 3.x mode (${describeError(error)}). Allow GetItem on it to have that checked.`,
    );
    return;
  }
  if (mode.kind !== '3.x') return;
  throw new KinesisWorkerConfigError(
    'engine',
    `the application '${appName}' is run by a Java KCL 3.x fleet in 3.x mode (${mode.table} holds ${MIGRATION_STATE_KEY} = ${mode.clientVersion}${mode.modifiedBy ? `, set by worker ${mode.modifiedBy}` : ''}): ` +
      `its leader assigns every lease, and the native engine, which takes leases by the KCL 2.x rules, would fight it over them. Nothing was written. ` +
      `Either run the Java fleet with clientVersionConfig = CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X (a fleet already in 3.x mode must first be rolled back with the KCL's migration script, which sets ${MIGRATION_STATE_KEY} back to CLIENT_VERSION_2X), ` +
      `or use engine: 'kcl' with kcl: { version: '3.1.3' } to join the 3.x fleet as a Java worker.`,
  );
}
