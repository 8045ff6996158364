package kcl35;

import java.lang.management.ManagementFactory;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The quiet mode's counts (the bench's Java peer rows): records and bytes delivered to the processors,
 * successful checkpoints, and the shards that have delivered at least one record. It writes one
 * {@code firstRecord} line at the first record delivered, and a {@code progress} line every interval with
 * the running totals, this JVM's CPU time (user + system, all threads) and a monotonic clock, so that a
 * reader takes a measuring window between two lines with counts, CPU and time from the same moment.
 */
final class Counters {
    private final JsonLines out;
    private final long intervalMillis;
    private final AtomicLong records = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong checkpoints = new AtomicLong();
    private final Set<String> shards = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean first = new AtomicBoolean();
    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    Counters(JsonLines out, long intervalMillis) {
        this.out = out;
        this.intervalMillis = intervalMillis;
    }

    void delivered(String shardId, int count, long size) {
        if (count == 0) return;
        records.addAndGet(count);
        bytes.addAndGet(size);
        shards.add(shardId);
        if (first.compareAndSet(false, true)) out.write(JsonLines.object("event", "firstRecord", "shardId", shardId));
    }

    void checkpointed() {
        checkpoints.incrementAndGet();
    }

    /** Starts the progress lines (a daemon thread: it never holds the JVM up). */
    void start() {
        final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread thread = new Thread(r, "kcl35-progress");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleAtFixedRate(this::progress, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    private void progress() {
        out.write(JsonLines.object(
                "event", "progress",
                "nanos", System.nanoTime(),
                "records", records.get(),
                "bytes", bytes.get(),
                "checkpoints", checkpoints.get(),
                "shards", shards.size(),
                "cpuNanos", os.getProcessCpuTime()));
    }
}
