/** The logging surface the engine needs; Nest's Logger and console both fit. */
export interface WorkerLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
  debug?(message: string): void;
}

export const consoleLogger: WorkerLogger = {
  log: (m) => console.log(`[kinesis-worker] ${m}`),
  warn: (m) => console.warn(`[kinesis-worker] ${m}`),
  error: (m, stack) => console.error(`[kinesis-worker] ${m}${stack ? `\n${stack}` : ''}`),
};
