import type { KclLogLevel } from '../../core/options';
import type { WorkerLogger } from '../../core/logger';

/** Every log event of the JVM starts with this; stack traces follow on lines without it. */
export const JVM_LOG_PREFIX = 'KCL>';

/**
 * The logback configuration given to the JVM: everything to STDERR (the jar's own logback.xml logs to
 * STDOUT), one event per line with a prefix that marks where an event starts.
 */
export function logbackXml(level: KclLogLevel): string {
  return `<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>${JVM_LOG_PREFIX} %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <!-- Its start-up line tells the worker that the daemon is up, whatever the level. -->
  <logger name="software.amazon.kinesis.coordinator.Scheduler" level="${level === 'DEBUG' ? 'DEBUG' : 'INFO'}"/>
  <root level="${level}"><appender-ref ref="STDERR"/></root>
</configuration>
`;
}

/**
 * WARN lines of the Java KCL that are harmless and frequent: logged at debug.
 * - after a reshard, every ProcessTask on a child shard warns until the shard detector's cache has the
 *   new shards (it is about dropping duplicate KPL user records, which the cache refresh fixes);
 * - at shutdown, the metrics publisher drops its (empty, with metricsLevel NONE) queue.
 */
const KNOWN_NOISE = [
  /ProcessTask - Cannot get the shard for this ProcessTask, so duplicate KPL user records/,
  /CloudWatchPublisherRunnable - Dropping metrics \[\] because CloudWatchPublisherRunnable is shutting down/,
];

const HEADER = new RegExp(`^${JVM_LOG_PREFIX} (TRACE|DEBUG|INFO|WARN|ERROR)\\s+(.*)$`);

/**
 * Turns the JVM's output into logger calls: ERROR and WARN events (with their stack trace lines) to
 * error and warn, INFO and below to debug. Output that is not a log event (the JVM's own messages,
 * e.g. a missing main class) goes to warn. Keeps the last events for error reports.
 */
export class JvmLogRouter {
  private partial = '';
  private entry: { level: string; lines: string[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly recent: string[] = [];

  constructor(
    private readonly logger: WorkerLogger,
    private readonly prefix: string,
    private readonly keep = 40,
    private readonly observe?: (message: string, level: string) => void,
  ) {}

  write(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
    clearTimeout(this.timer);
    // A stack trace arrives in one burst: flush once the output pauses.
    if (this.entry) this.timer = setTimeout(() => this.flush(), 50);
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.flush();
  }

  /** The last events, oldest first, for the message when the JVM fails. */
  tail(count = 15): string[] {
    return this.recent.slice(-count);
  }

  private line(line: string): void {
    const header = HEADER.exec(line);
    if (header) {
      this.flush();
      this.entry = { level: header[1], lines: [header[2]] };
    } else if (this.entry) {
      this.entry.lines.push(line);
    } else if (line.trim() !== '') {
      this.emit('WARN', line);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const entry = this.entry;
    this.entry = undefined;
    if (entry) this.emit(entry.level, entry.lines.join('\n'));
  }

  private emit(level: string, message: string): void {
    this.observe?.(message, level);
    const text = `${this.prefix} ${message}`;
    this.recent.push(`${level} ${message.split('\n')[0]}`);
    if (this.recent.length > this.keep) this.recent.shift();
    if (level === 'ERROR') this.logger.error(text);
    else if (level === 'WARN' && !KNOWN_NOISE.some((pattern) => pattern.test(message))) this.logger.warn(text);
    else this.logger.debug?.(text);
  }
}
