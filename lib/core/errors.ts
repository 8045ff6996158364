/** Base class of every error this library throws on purpose. */
export class KinesisWorkerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad options or a bad processor, reported at bootstrap. The message names the option and the fix. */
export class KinesisWorkerConfigError extends KinesisWorkerError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`Invalid nestjs-kinesis-worker option '${option}': ${message}`);
  }
}

/** The lease for this shard is held by another worker now (the KCL's ShutdownException). */
export class LeaseLostError extends KinesisWorkerError {
  constructor(
    readonly shardId: string,
    detail = 'the lease is no longer held by this worker',
  ) {
    super(`Lease lost for ${shardId}: ${detail}`);
  }
}

/** A checkpoint at a position that was not delivered, or before the current checkpoint. */
export class InvalidCheckpointError extends KinesisWorkerError {
  constructor(
    readonly shardId: string,
    readonly sequenceNumber: string,
    reason: string,
  ) {
    super(`Cannot checkpoint ${shardId} at ${sequenceNumber}: ${reason}`);
  }
}
