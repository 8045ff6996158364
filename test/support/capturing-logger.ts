import type { LogFields, WorkerLogger } from '../../lib';

/** One line as the engine logged it: its level, text, fields and (an error's) stack. */
export interface CapturedLine {
  readonly level: 'LOG' | 'WARN' | 'ERROR';
  readonly message: string;
  readonly fields: LogFields | undefined;
  readonly stack?: string;
}

/** A logger that keeps every line, prefixed by its level, so a test can assert what was reported. */
export class CapturingLogger implements WorkerLogger {
  readonly lines: string[] = [];
  /** The same lines with their fields. */
  readonly entries: CapturedLine[] = [];
  log = (message: string, fields?: LogFields) => this.keep({ level: 'LOG', message, fields });
  warn = (message: string, fields?: LogFields) => this.keep({ level: 'WARN', message, fields });
  error = (message: string, stack?: string, fields?: LogFields) => this.keep({ level: 'ERROR', message, fields, stack });

  private keep(line: CapturedLine): void {
    this.lines.push(`${line.level} ${line.message}`);
    this.entries.push(line);
  }
}
