/**
 * What a log line is about, for loggers that write fields (JSON loggers): operators filter on these.
 * `app` and `worker` are on every line of a worker; `stream` where the line is about one stream (always,
 * for a worker of one stream); `shard` where it is about one shard. docs/logging.md lists them.
 */
export interface LogFields {
  /** The application (`appName`), which names the lease table. */
  readonly app?: string;
  readonly stream?: string;
  /** The shard id, e.g. `shardId-000000000001`. */
  readonly shard?: string;
  /** The worker id (`workerId`). */
  readonly worker?: string;
}

/**
 * The logging surface the engine needs. Each line comes with its fields as the last argument; a logger
 * that only writes text can ignore them (Nest's Logger is wrapped by the Nest module, see docs/logging.md).
 */
export interface WorkerLogger {
  log(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, stack?: string, fields?: LogFields): void;
  debug?(message: string, fields?: LogFields): void;
}

/** The default outside Nest: text on the console, as before fields existed (the messages name the shard). */
export const consoleLogger: WorkerLogger = {
  log: (m) => console.log(`[kinesis-worker] ${m}`),
  warn: (m) => console.warn(`[kinesis-worker] ${m}`),
  error: (m, stack) => console.error(`[kinesis-worker] ${m}${stack ? `\n${stack}` : ''}`),
};

/**
 * The logger with `bound` added to the fields of every line (a field the line gives itself wins): how
 * the worker, each stream and each shard consumer give their lines their fields without every call
 * site naming them. `debug` stays absent when the logger has none, so `debug?.()` costs nothing.
 */
export function withLogFields(logger: WorkerLogger, bound: LogFields): WorkerLogger {
  const inner = logger instanceof FieldsLogger ? logger.logger : logger;
  const fields = logger instanceof FieldsLogger ? { ...logger.fields, ...definedOnly(bound) } : definedOnly(bound);
  return new FieldsLogger(inner, fields);
}

class FieldsLogger implements WorkerLogger {
  // Declared only: absent, not undefined, when the logger has no debug.
  declare readonly debug?: (message: string, fields?: LogFields) => void;

  constructor(
    readonly logger: WorkerLogger,
    readonly fields: LogFields,
  ) {
    if (logger.debug) this.debug = (message, fields) => logger.debug!(message, this.with(fields));
  }

  log(message: string, fields?: LogFields): void {
    this.logger.log(message, this.with(fields));
  }

  warn(message: string, fields?: LogFields): void {
    this.logger.warn(message, this.with(fields));
  }

  error(message: string, stack?: string, fields?: LogFields): void {
    this.logger.error(message, stack, this.with(fields));
  }

  private with(fields: LogFields | undefined): LogFields {
    return fields ? { ...this.fields, ...definedOnly(fields) } : this.fields;
  }
}

function definedOnly(fields: LogFields): LogFields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
