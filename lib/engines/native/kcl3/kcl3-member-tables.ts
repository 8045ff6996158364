import type { Kcl3Mode } from '../../../leases/kcl3-application';
import { isSingleTable, Kcl3StateLocations, LeaseTableEntities, type Kcl3Table } from '../../../leases/kcl3-layout';

/**
 * Where this worker's 3.x membership reads and writes the fleet's state: the two-table layout
 * (coordinatorStateTableName, workerMetricsTableName) until the migration state is found in the lease
 * table, then the KCL 3.5 single-table layout for good (a 3.5 fleet never goes back: its table migration
 * ends in COMPLETE, and a 2.x → 3.5 migration starts there). The membership's parts read it at each use,
 * so a worker that started before the fleet wrote any state follows whichever layout the fleet chose.
 */
export class Kcl3MemberTables {
  private singleTable: LeaseTableEntities | undefined;

  constructor(
    private readonly options: {
      readonly tableName: string;
      readonly coordinatorStateTableName: string;
      readonly workerMetricsTableName: string;
    },
  ) {}

  /** Learns the layout from where a mode was read. */
  follow(mode: Kcl3Mode): void {
    if (mode.kind !== 'none' && isSingleTable(mode.table)) this.singleTable = mode.table;
  }

  get layout(): 'single-table' | 'two-table' {
    return this.singleTable ? 'single-table' : 'two-table';
  }

  get coordinatorState(): Kcl3Table {
    return this.singleTable ?? this.options.coordinatorStateTableName;
  }

  get workerMetrics(): Kcl3Table {
    return this.singleTable ?? this.options.workerMetricsTableName;
  }

  /** Where the migration state monitor looks: the lease table's row first, then the coordinator state table. */
  get stateLocations(): Kcl3StateLocations {
    return new Kcl3StateLocations(this.options.tableName, this.options.coordinatorStateTableName);
  }
}
