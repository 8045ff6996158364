import { Injectable } from '@nestjs/common';
import type { KinesisWorker, WorkerStatus } from './core/worker';
import { KinesisWorkerRegistrar } from './kinesis-worker.registrar';

/** The workers of this app, one per appName (lease table) of its @KinesisProcessor classes: start and stop them, and read their status. */
@Injectable()
export class KinesisWorkerService {
  constructor(private readonly registrar: KinesisWorkerRegistrar) {}

  /**
   * Starts the workers. Needed only with the module option autoStart: false (by default they start at
   * bootstrap); a no-op while they run. Rejects, with every worker stopped, if one cannot start.
   */
  start(): Promise<void> {
    return this.registrar.start();
  }

  /**
   * Stops the workers gracefully: batches in flight finish, processors get shutdown(REQUESTED) and may
   * checkpoint, leases are released. start() may be called again later. app.close() does this too.
   */
  stop(): Promise<void> {
    return this.registrar.stop();
  }

  /** The running workers; empty before start and after stop. */
  workers(): readonly KinesisWorker[] {
    return this.registrar.workers();
  }

  /** Per stream: the leases this worker holds, each shard's last checkpoint and millisBehindLatest. */
  status(): WorkerStatus[] {
    return this.registrar.workers().map((worker) => worker.describe());
  }
}
