import type { WorkerLogger } from '../../../core/logger';

/**
 * Logs the first refusal of each kind as an error and counts the rest at debug level: the processor
 * gets every rejection, the operator one clear line per mistake rather than one per batch.
 */
export class RefusalLog {
  private readonly counts = new Map<string, number>();

  constructor(private readonly logger: WorkerLogger) {}

  once(kind: string, message: string): void {
    const count = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, count);
    if (count === 1) this.logger.error(message);
    else this.logger.debug?.(`${message} (refused ${count} times so far)`);
  }
}
