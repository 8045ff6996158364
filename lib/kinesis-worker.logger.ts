import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { inspect, type InspectOptions } from 'node:util';
import type { LogFields, WorkerLogger } from './core/logger';

type Level = 'log' | 'warn' | 'error' | 'debug';

/** The ANSI colours Nest's ConsoleLogger gives a string message of each level (it colours only strings). */
const COLOURS: Record<Level, number> = { log: 32, warn: 33, error: 31, debug: 95 };

/**
 * One engine log line as a Nest logger receives it: an object whose own fields are the line's text
 * (`msg`), its fields (`app`, `stream`, `shard`, `worker`) and, for an error, `stack`. One call serves
 * the loggers Nest apps use, without knowing which one the app installed:
 * - nestjs-pino's Logger merges an object message into the JSON line (`msg`, `app`, ... beside
 *   `context`);
 * - Nest's ConsoleLogger prints a non-plain object through util.inspect: the custom inspect below
 *   gives it the text alone (and the stack), coloured as Nest colours a string, so the text output
 *   reads as before; with `json: true` it writes the object under `message`;
 * - a logger that turns its message into a string gets the text (toString).
 */
export class KinesisLogLine {
  readonly msg: string;
  // Declared only: a field the line does not have is absent, not an own field set to undefined.
  declare readonly app?: string;
  declare readonly stream?: string;
  declare readonly shard?: string;
  declare readonly worker?: string;
  declare readonly stack?: string;
  /** Not an own enumerable field: a JSON logger would write it over its own level. */
  readonly #level: Level;

  constructor(level: Level, msg: string, fields: LogFields | undefined, stack?: string) {
    this.#level = level;
    this.msg = msg;
    Object.assign(this, fields);
    if (stack) Object.assign(this, { stack });
  }

  toString(): string {
    return this.msg;
  }

  [inspect.custom](_depth: number, options: InspectOptions): string {
    const text = this.stack ? `${this.msg}\n${this.stack}` : this.msg;
    return options.colors ? `\x1B[${COLOURS[this.#level]}m${text}\x1B[39m` : text;
  }
}

/**
 * The logger the engine writes to in a Nest app: Nest's Logger (or ConsoleLogger) gets each line as a
 * KinesisLogLine, so JSON loggers installed with app.useLogger() get the fields; any other logger given
 * in the options is the engine's WorkerLogger and gets (message, fields) as the engine calls it.
 */
export function nestWorkerLogger(logger: WorkerLogger | LoggerService): WorkerLogger {
  if (!(logger instanceof Logger || logger instanceof ConsoleLogger)) return logger;
  return {
    log: (message, fields) => logger.log(new KinesisLogLine('log', message, fields)),
    warn: (message, fields) => logger.warn(new KinesisLogLine('warn', message, fields)),
    error: (message, stack, fields) => logger.error(new KinesisLogLine('error', message, fields, stack)),
    debug: (message, fields) => logger.debug?.(new KinesisLogLine('debug', message, fields)),
  };
}
