import type { WorkerLogger } from '../../lib';

/** A logger that keeps every line, prefixed by its level, so a test can assert what was reported. */
export class CapturingLogger implements WorkerLogger {
  readonly lines: string[] = [];
  log = (m: string) => void this.lines.push(`LOG ${m}`);
  warn = (m: string) => void this.lines.push(`WARN ${m}`);
  error = (m: string) => void this.lines.push(`ERROR ${m}`);
}
