import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * KCL 3.5+ keeps entities other than leases in the lease table (docs/kcl3-protocol.md, section 7): rows
 * with `entityType` LEADER, CLIENT_VERSION_MIGRATION, WORKER_METRIC_STATS, TABLE_MIGRATION, STREAM.
 * A row without `entityType` is a lease (the KCL 2.x and 3.0–3.4 layout, and every row the native engine
 * writes), as the Java 3.5 lease serializer reads it.
 */
export const LEASE_ENTITY_TYPE = 'LEASE';

/**
 * The entityType of a row that is another KCL entity, not a lease, or undefined. Such a row is the Java
 * fleet's own state: a lease reader skips it without a word (it is neither corrupt nor to be deleted).
 * An entityType that is not a string is not a KCL entity: that row is left to the corrupt-row checks.
 */
export function otherEntityType(item: Record<string, AttributeValue>): string | undefined {
  const entityType = item.entityType?.S;
  return entityType !== undefined && entityType !== LEASE_ENTITY_TYPE ? entityType : undefined;
}
