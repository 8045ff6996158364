import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Where a KCL 3.x application keeps its coordinator state (migration state, leader lock) and worker
 * metrics (docs/kcl3-protocol.md, sections 1 and 7):
 * - the two-table layout (KCL 3.0–3.4, and 3.5 before its table migration): `<app>-CoordinatorState`
 *   (key `key`) and `<app>-WorkerMetricStats` (key `wid`), given by their names as plain strings;
 * - the KCL 3.5 single-table layout: rows of the lease table itself, keyed by `leaseKey` and told apart
 *   by `entityType`, given as a LeaseTableEntities.
 * The functions that read and write those items take either (Kcl3Table) and pick the key and the
 * entityType from it, so the same membership code serves both layouts.
 */
export class LeaseTableEntities {
  constructor(readonly tableName: string) {}

  /** How logs and errors name it: the table, and that the state is its entity rows. */
  toString(): string {
    return `${this.tableName} (KCL 3.5 single-table rows)`;
  }
}

/** A coordinator state or worker metrics table of either layout. */
export type Kcl3Table = string | LeaseTableEntities;

/**
 * Where the migration state may be while the layout is not known: the lease table's `Migration3.0` row
 * (with entityType: the single-table layout) first, else the two-table layout's coordinator state table.
 */
export class Kcl3StateLocations {
  constructor(
    readonly leaseTable: string,
    readonly coordinatorStateTable: string,
  ) {}

  toString(): string {
    return `${this.leaseTable} or ${this.coordinatorStateTable}`;
  }
}

/** The entityType values of the rows the native engine reads or writes (Java 3.5.1 EntityType.getDdbValue()). */
export const ENTITY_TYPE = {
  clientVersionMigration: 'CLIENT_VERSION_MIGRATION',
  leader: 'LEADER',
  workerMetricStats: 'WORKER_METRIC_STATS',
} as const;

export const isSingleTable = (table: Kcl3Table): table is LeaseTableEntities => table instanceof LeaseTableEntities;

export const tableNameOf = (table: Kcl3Table): string => (isSingleTable(table) ? table.tableName : table);

/** The partition key attribute of a coordinator state item: `key`, or `leaseKey` in the lease table. */
export const coordinatorKeyName = (table: Kcl3Table): string => (isSingleTable(table) ? 'leaseKey' : 'key');

/** The partition key attribute of a worker metrics item: `wid`, or `leaseKey` in the lease table. */
export const workerMetricsKeyName = (table: Kcl3Table): string => (isSingleTable(table) ? 'leaseKey' : 'wid');

/** `{ entityType }` for an item of the lease table, nothing for the two-table layout (whose items have none). */
export function entityTypeOf(table: Kcl3Table, entityType: string): Record<string, AttributeValue> {
  return isSingleTable(table) ? { entityType: { S: entityType } } : {};
}
