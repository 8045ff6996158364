import { stopChild } from '../lib/child';
import { JAVA_OPTS, JAVA_SETTINGS, PEER_IDLE_MS, javaPeerMissing, runJavaPeer } from '../lib/java-peer';
import { READ_LIMITS } from '../lib/shard-model';
import { dynaliteChild, measureOnLimitedEndpoint } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';
import { FRAME_WINDOW, measureFrame } from './frame';

const MB = 1048576;
const SHARD_COUNTS = (process.env.BENCH_JAVA_SHARDS ?? '16,64').split(',').map(Number);
const RECORD_SIZES = [1024, 25 * 1024];

/**
 * The Java KCL as the peer (issue #23): a plain Java KCL 3.5.1 application (test/java/kcl35-consumer in its
 * quiet mode: a ShardRecordProcessor that counts and checkpoints every batch, polling, no MultiLangDaemon)
 * and the native engine (the frame scenario's worker), one after the other against the same limit-enforcing
 * endpoint settings as the physical frame (every shard fed at 2 MB/s, the read limits enforced) and the same
 * dynalite, measured the same way (measureOnLimitedEndpoint): delivered MB/s over the window after the
 * warm-up, CPU per MB of the consumer process, its peak RSS and PSS over the window, and its start-up
 * (spawn to the first record delivered). Every row: value = native, baseline = Java.
 */
export async function javaPeerBenchmarks(): Promise<BenchRow[]> {
  const missing = await javaPeerMissing();
  if (missing) {
    console.error(`java-peer: Java peer rows skipped: ${missing}`);
    return [{ group: 'java peer', name: `skipped: ${missing}`, value: NaN, unit: '' }];
  }
  const jvm = JAVA_OPTS.length ? `JVM options ${JAVA_OPTS.join(' ')}` : 'JVM defaults (no -Xmx, no GC option: ergonomics on this machine)';
  const settings = Object.entries(JAVA_SETTINGS)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
  const rows: BenchRow[] = [];
  const dynamo = await dynaliteChild();
  try {
    for (const recordBytes of RECORD_SIZES) {
      for (const shards of SHARD_COUNTS) {
        const size = recordBytes === 1024 ? '1 KB' : '25 KB';
        const native = await measureFrame(shards, recordBytes, 'engine', dynamo.endpoint, {
          profile: false,
          idleTimeBetweenReadsMs: PEER_IDLE_MS,
        });
        const streamName = 'frame';
        const java = await measureOnLimitedEndpoint(
          {
            streamName,
            shards,
            recordBytes,
            producedBytesPerSecond: READ_LIMITS.bytesPerSecond,
            enforceLimits: true,
            listShardsPageSize: 10,
          },
          (kinesisEndpoint, onWindow) =>
            runJavaPeer(
              { kinesisEndpoint, dynamodbEndpoint: dynamo.endpoint, streamName, shards, initialPosition: 'LATEST', ...FRAME_WINDOW },
              onWindow,
            ),
        );
        const limit = (shards * READ_LIMITS.bytesPerSecond) / MB;
        const label = `${shards} shards x 2 MB/s, ${size} records`;
        const callsOf = (operations: Record<string, number>) =>
          Object.entries(operations)
            .map(([operation, count]) => `${operation} ${count}`)
            .join(', ');
        const calls = callsOf(java.operations);
        const nativeCalls = callsOf(native.operations);
        rows.push(
          row({
            group: 'java peer',
            name: `${label}: delivered MB/s, native / Java KCL 3.5.1`,
            value: native.mbPerSec,
            unit: 'MB/s',
            baseline: java.mbPerSec,
            baselineName: 'Java KCL 3.5.1, same endpoint',
            note: `limit ${limit.toFixed(0)} MB/s: native ${(native.mbPerSec / limit).toFixed(2)} x, Java ${(java.mbPerSec / limit).toFixed(2)} x; lag at the end (slowest shard): native ${native.lagMs} ms, Java ${java.lagMs} ms; throttles/min: native ${native.throttlesPerMinute.toFixed(0)}, Java ${java.throttlesPerMinute.toFixed(0)}; both idle ${PEER_IDLE_MS} ms between reads; GetRecords in ${native.cborRequests ? 'CBOR' : 'JSON'} (native), ${java.cborRequests ? 'CBOR' : 'JSON'} (Java); Java: ${jvm}, ${java.report.checkpoints} checkpoints in the window, leases lost ${java.report.leasesLost}, failed checkpoints ${java.report.failedCheckpoints}; calls to the endpoint up to the window's close: Java ${calls}; native ${nativeCalls}`,
          }),
          row({
            group: 'java peer',
            name: `${label}: CPU per MB, native / Java KCL 3.5.1`,
            value: native.cpuMsPerMb,
            unit: 'ms',
            baseline: java.cpuMsPerMb,
            baselineName: 'Java KCL 3.5.1',
            target: '<= 1 (native at or below the Java KCL)',
            met: native.cpuMsPerMb <= java.cpuMsPerMb,
            note: `CPU in cores: native ${native.consumerCores.toFixed(2)}, Java ${java.consumerCores.toFixed(2)}; endpoint ${native.serverCores.toFixed(2)} / ${java.serverCores.toFixed(2)}`,
          }),
          row({
            group: 'java peer',
            name: `${label}: peak RSS, native / Java KCL 3.5.1`,
            value: native.memory.rssMb,
            unit: 'MB',
            baseline: java.memory.rssMb,
            baselineName: 'Java KCL 3.5.1',
            note: `sampled every second from outside over the window (${native.memory.samples} / ${java.memory.samples} samples), no forced GC; ${jvm}`,
          }),
          row({
            group: 'java peer',
            name: `${label}: peak PSS, native / Java KCL 3.5.1`,
            value: native.memory.pssMb,
            unit: 'MB',
            baseline: java.memory.pssMb,
            baselineName: 'Java KCL 3.5.1',
            target: '< 0.5 (a fraction of the Java KCL)',
            met: native.memory.pssMb < java.memory.pssMb / 2,
          }),
          row({
            group: 'java peer',
            name: `${label}: start-up (spawn -> first record), native / Java KCL 3.5.1`,
            value: native.report.startupMs,
            unit: 'ms',
            baseline: java.report.startupMs,
            baselineName: 'Java KCL 3.5.1',
            note: `Java: ${settings} (as the e2e suites), the rest the KCL's defaults (failover 10 s, as the native engine's), its lease table created before the spawn (dynalite cannot add its GSI later); the Java figure includes the KCL's random 1-30 s wait of a new application for another worker to fill the lease table (Scheduler.shouldInitiateLeaseSync); the native engine creates its lease table within its start-up`,
          }),
        );
      }
    }
  } finally {
    await stopChild(dynamo.child);
  }
  return rows;
}
