/** What global-setup.ts starts for one jest worker, passed to the workers in TEST_WORKER_EMULATORS. */
export interface WorkerEmulators {
  readonly kinesis: string;
  readonly dynamodb: string;
  readonly kinesisTlsPort: number;
  /** The worker's own temporary folder (TMPDIR for it and every process it starts). */
  readonly tmpdir: string;
}
