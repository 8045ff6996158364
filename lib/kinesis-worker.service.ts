import { Injectable } from '@nestjs/common';
import type { KinesisWorker, WorkerStatus } from './core/worker';

/** The running workers of this app, one per @KinesisProcessor stream, for operators and health checks. */
@Injectable()
export class KinesisWorkerService {
  private readonly registered: KinesisWorker[] = [];

  /** @internal */
  register(worker: KinesisWorker): void {
    this.registered.push(worker);
  }

  workers(): readonly KinesisWorker[] {
    return this.registered;
  }

  /** Per stream: the leases this worker holds, each shard's last checkpoint and millisBehindLatest. */
  status(): WorkerStatus[] {
    return this.registered.map((worker) => worker.describe());
  }
}
