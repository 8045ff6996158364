import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import { readKcl3Mode, type Kcl3Mode } from '../../../leases/kcl3-application';
import type { Kcl3StateLocations, Kcl3Table } from '../../../leases/kcl3-layout';

/**
 * Polls the migration state (Migration3.0) as the Java ClientVersionChangeMonitor does, and reports every
 * change of the client version, not only the changes of the lease rules it implies ('2.x': no 3.x state,
 * CLIENT_VERSION_2X, UPGRADE_FROM_2X; '3.x': 3X_WITH_ROLLBACK, 3X): a worker that started with no state
 * must start publishing its worker metrics when the fleet writes UPGRADE_FROM_2X, though the rules stay
 * 2.x, or the fleet's migration monitor never finds it 3.x-compliant and never flips. A failed read is
 * logged and keeps the current state: a change is seen one poll later.
 */
export class MigrationStateMonitor {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failures = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly appName: string,
    private readonly table: Kcl3Table | Kcl3StateLocations,
    private readonly intervalMs: number,
    private readonly logger: WorkerLogger,
    private current: Kcl3Mode,
    private readonly onChange: (mode: Kcl3Mode, previous: Kcl3Mode) => Promise<void> | void,
  ) {}

  get mode(): Kcl3Mode {
    return this.current;
  }

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** One poll now (also on the timer); concurrent calls share the poll in flight. */
  poll(): Promise<void> {
    this.polling ??= this.readAndSwitch().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readAndSwitch(): Promise<void> {
    let mode: Kcl3Mode;
    try {
      mode = await readKcl3Mode(this.client, this.appName, this.table, AbortSignal.timeout(this.intervalMs));
      this.failures = 0;
    } catch (error) {
      if (this.failures++ % 10 === 0)
        this.logger.warn(
          `Could not read the migration state in ${String(this.table)} (${describeError(error)}); keeping the current lease rules.`,
        );
      return;
    }
    const previous = this.current;
    this.current = mode;
    if (clientVersion(mode) === clientVersion(previous)) return;
    this.logger.log(
      rules(mode) === rules(previous)
        ? `Migration state of '${this.appName}' changed from ${clientVersion(previous)} to ${clientVersion(mode)}: the ${rules(mode)} lease rules stay.`
        : `Migration state of '${this.appName}' changed to ${clientVersion(mode)}: switching from the ${rules(previous)} to the ${rules(mode)} lease rules.`,
    );
    try {
      await this.onChange(mode, previous);
    } catch (error) {
      this.logger.error(`Applying the migration state ${clientVersion(mode)} (${rules(mode)} lease rules) failed: ${describeError(error)}`);
    }
  }
}

/** Which lease rules a mode means for this worker. */
export const rules = (mode: Kcl3Mode): '2.x' | '3.x' => (mode.kind === '3.x' ? '3.x' : '2.x');

const clientVersion = (mode: Kcl3Mode): string => (mode.kind === 'none' ? 'none' : mode.clientVersion);
