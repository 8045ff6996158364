import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError, isResourceNotFound } from '../core/aws-errors';
import { KinesisWorkerConfigError } from '../core/errors';
import type { WorkerLogger } from '../core/logger';
import { coordinatorKeyName, Kcl3StateLocations, LeaseTableEntities, tableNameOf, type Kcl3Table } from './kcl3-layout';
import { defaultCoordinatorStateTable, LEASE_OWNER_TO_LEASE_KEY_INDEX, leaseOwnerIndexStatus } from './kcl3-tables';

/**
 * How a Java KCL 3.x fleet runs an application, read from its migration state (docs/kcl3-protocol.md):
 * the item 'Migration3.0' of the coordinator state table (<applicationName>-CoordinatorState by default).
 *
 * - CLIENT_VERSION_2X / CLIENT_VERSION_UPGRADE_FROM_2X: the 3.x workers follow the 2.x lease rules
 *   (taking expired leases, stealing): so does a native worker.
 * - CLIENT_VERSION_3X_WITH_ROLLBACK / CLIENT_VERSION_3X: a leader assigns every lease (the
 *   LeaseAssignmentManager) to the workers that publish worker metrics; a native worker then follows
 *   the leader (lib/engines/native/kcl3) instead of taking leases.
 *
 * This item is the signal the Java KCL itself uses to choose its lease assignment; the other traces of
 * 3.x (the LeaseOwnerToLeaseKeyIndex GSI, the WorkerMetricStats table, throughputKBps on leases) are also
 * present in the compatible mode, so they cannot tell the two apart.
 */
export type Kcl3Mode =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'compatible' | '3.x';
      readonly clientVersion: string;
      readonly modifiedBy?: string;
      /** Where the state was found, and so the layout of the application: a table name, or the lease table's KCL 3.5 rows. */
      readonly table: Kcl3Table;
    };

export const MIGRATION_STATE_KEY = 'Migration3.0';
export const LEADER_LOCK_KEY = 'Leader';
const ASSIGNED_BY_LEADER = new Set(['CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X']);

/**
 * The mode of the application, or 'none' when no 3.x worker has ever run it (no table or no item).
 * `table`: the coordinator state table (the two-table layout), the lease table's KCL 3.5 rows, or both
 * places (Kcl3StateLocations: the lease table's row first, since a 3.5 fleet that keeps its state there
 * no longer reads the separate table).
 */
export async function readKcl3Mode(
  client: DynamoDBClient,
  appName: string,
  table: Kcl3Table | Kcl3StateLocations = defaultCoordinatorStateTable(appName),
  abortSignal?: AbortSignal,
): Promise<Kcl3Mode> {
  if (table instanceof Kcl3StateLocations) {
    const single = await readKcl3Mode(client, appName, new LeaseTableEntities(table.leaseTable), abortSignal);
    return single.kind !== 'none' ? single : readKcl3Mode(client, appName, table.coordinatorStateTable, abortSignal);
  }
  let item;
  try {
    ({ Item: item } = await client.send(
      new GetItemCommand({
        TableName: tableNameOf(table),
        Key: { [coordinatorKeyName(table)]: { S: MIGRATION_STATE_KEY } },
        ConsistentRead: true,
      }),
      { abortSignal },
    ));
  } catch (error) {
    if (isResourceNotFound(error)) return { kind: 'none' };
    throw error;
  }
  // In the lease table only the entity row counts (entityType present; a 3.5 worker always writes it).
  if (table instanceof LeaseTableEntities && item?.entityType?.S === undefined) return { kind: 'none' };
  const clientVersion = item?.cv?.S;
  if (!clientVersion) return { kind: 'none' };
  return { kind: ASSIGNED_BY_LEADER.has(clientVersion) ? '3.x' : 'compatible', clientVersion, modifiedBy: item?.mb?.S, table };
}

/**
 * The mode at start. When the coordinator state cannot be read for another reason than its absence
 * (permissions), the worker starts by the 2.x rules with a warning naming the fix, and keeps polling.
 */
export async function readKcl3ModeAtStart(
  client: DynamoDBClient,
  appName: string,
  table: Kcl3Table | Kcl3StateLocations,
  logger: WorkerLogger,
): Promise<Kcl3Mode> {
  try {
    return await readKcl3Mode(client, appName, table);
  } catch (error) {
    logger.warn(
      `Could not read ${String(table)} to learn whether a Java KCL 3.x fleet runs '${appName}' in 3.x mode (${describeError(error)}); ` +
        `starting by the KCL 2.x lease rules. Allow dynamodb:GetItem on ${String(table)} (docs/iam.md), or set coordinatorStateTableName when the fleet uses another name.`,
    );
    return { kind: 'none' };
  }
}

/**
 * In 3.x mode a worker finds the leases assigned to it through the lease-owner GSI, which the Java 3.x
 * workers add to the lease table. Checked before the native worker creates or writes anything: a
 * missing table or GSI is a bootstrap error that names the fix.
 */
export async function requireKcl3LeaseTable(
  client: DynamoDBClient,
  mode: Extract<Kcl3Mode, { clientVersion: string }>,
  options: { appName: string; tableName: string },
): Promise<void> {
  let status: string | undefined;
  try {
    status = await leaseOwnerIndexStatus(client, options.tableName);
  } catch (error) {
    if (!isResourceNotFound(error)) throw error;
    status = 'no table';
  }
  if (status === 'ACTIVE') return;
  const option = options.tableName === options.appName ? 'appName' : 'tableName';
  const found =
    status === 'no table'
      ? `there is no lease table '${options.tableName}'`
      : `the lease table '${options.tableName}' has ${status ? `its ${LEASE_OWNER_TO_LEASE_KEY_INDEX} GSI in status ${status}` : `no ${LEASE_OWNER_TO_LEASE_KEY_INDEX} GSI`}`;
  throw new KinesisWorkerConfigError(
    option,
    `'${options.appName}' runs in KCL 3.x mode (${String(mode.table)} holds ${MIGRATION_STATE_KEY} = ${mode.clientVersion}${mode.modifiedBy ? `, set by worker ${mode.modifiedBy}` : ''}), but ${found}: ` +
      `a 3.x worker finds the leases its leader assigns through the ${LEASE_OWNER_TO_LEASE_KEY_INDEX} GSI of the lease table, which the Java KCL 3.x workers create. Nothing was written. ` +
      `Start a Java KCL 3.x worker first (or wait until the GSI is ACTIVE), or check that ${option} names the Java fleet's lease table.`,
  );
}
