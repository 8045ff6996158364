import { JvmLogRouter, logbackXml } from '../../../../lib/engines/kcl/jvm-log';

function capture() {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      log: (m: string) => void lines.push(`LOG ${m}`),
      warn: (m: string) => void lines.push(`WARN ${m}`),
      error: (m: string) => void lines.push(`ERROR ${m}`),
      debug: (m: string) => void lines.push(`DEBUG ${m}`),
    },
  };
}

describe('the JVM log router', () => {
  it('routes ERROR and WARN events to error and warn, INFO and DEBUG to debug, across chunk boundaries', () => {
    const { lines, logger } = capture();
    const router = new JvmLogRouter(logger, '[kcl s]');
    router.write('KCL> INFO  s.a.k.Scheduler - Initialization complete. Starting worker loop.\nKCL> WA');
    router.write('RN  s.a.k.X - careful\nKCL> ERROR s.a.k.Y - broken\nKCL> DEBUG s.a.k.Z - detail\n');
    router.end();
    expect(lines).toEqual([
      'DEBUG [kcl s] s.a.k.Scheduler - Initialization complete. Starting worker loop.',
      'WARN [kcl s] s.a.k.X - careful',
      'ERROR [kcl s] s.a.k.Y - broken',
      'DEBUG [kcl s] s.a.k.Z - detail',
    ]);
  });

  it('keeps a stack trace with its event, and sends output that is not a log event to warn', () => {
    const { lines, logger } = capture();
    const router = new JvmLogRouter(logger, '[kcl s]');
    router.write(
      'Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nKCL> ERROR s.a.k.M - Encountered an error\njava.lang.RuntimeException: boom\n\tat a.b.C(C.java:1)\n',
    );
    router.end();
    expect(lines).toEqual([
      'WARN [kcl s] Picked up JAVA_TOOL_OPTIONS: -Xmx1g',
      'ERROR [kcl s] s.a.k.M - Encountered an error\njava.lang.RuntimeException: boom\n\tat a.b.C(C.java:1)',
    ]);
  });

  it('flushes a pending event once the output pauses', async () => {
    const { lines, logger } = capture();
    const router = new JvmLogRouter(logger, '[kcl s]');
    router.write('KCL> ERROR s.a.k.M - alone\n');
    expect(lines).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(lines).toEqual(['ERROR [kcl s] s.a.k.M - alone']);
  });

  it("demotes the Java KCL's known harmless warnings to debug, and keeps a tail for error reports", () => {
    const { lines, logger } = capture();
    const seen: string[] = [];
    const router = new JvmLogRouter(logger, '[kcl s]', 2, (message) => seen.push(message));
    router.write(
      'KCL> WARN  s.a.kinesis.lifecycle.ProcessTask - Cannot get the shard for this ProcessTask, so duplicate KPL user records in the event of resharding will not be dropped\n' +
        'KCL> WARN  s.a.k.m.CloudWatchPublisherRunnable - Dropping metrics [] because CloudWatchPublisherRunnable is shutting down.\n' +
        'KCL> WARN  s.a.k.X - real\n',
    );
    router.end();
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['DEBUG', 'DEBUG', 'WARN']);
    expect(seen).toHaveLength(3);
    expect(router.tail()).toEqual([
      'WARN s.a.k.m.CloudWatchPublisherRunnable - Dropping metrics [] because CloudWatchPublisherRunnable is shutting down.',
      'WARN s.a.k.X - real',
    ]);
  });

  it('configures logback to log to STDERR with the event prefix, and the Scheduler at INFO whatever the level', () => {
    const xml = logbackXml('WARN');
    expect(xml).toContain('<target>System.err</target>');
    expect(xml).toContain('<pattern>KCL> %-5level %logger{36} - %msg%n</pattern>');
    expect(xml).toContain('<logger name="software.amazon.kinesis.coordinator.Scheduler" level="INFO"/>');
    expect(xml).toContain('<root level="WARN">');
  });
});
