export { KinesisWorkerHealthIndicator, type KinesisHealthOptions, type KinesisHealthResult } from './kinesis-worker.health';
