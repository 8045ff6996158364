package kcl35;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.kinesis.common.ConfigsBuilder;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.coordinator.CoordinatorConfig;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.leases.LeaseManagementConfig;
import software.amazon.kinesis.metrics.NullMetricsFactory;
import software.amazon.kinesis.retrieval.polling.PollingConfig;

/**
 * A KCL 3.5.1 consumer for the e2e tests and the bench's Java peer rows: it runs a Scheduler with {@link
 * RecordingProcessor} on one stream and writes every event as one JSON line (to KCL35_OUTPUT, else stdout).
 * Settings come from the environment (KCL35_*) or from --name=value arguments (same names, lower camel case,
 * see {@link Settings}). SIGTERM starts a graceful shutdown (shutdownRequested to every processor, which
 * checkpoints).
 *
 * <p>With --quiet=true (the bench) the processors only count what they get and still checkpoint every batch:
 * no line per record, batch or checkpoint, but one {@code firstRecord} line and a {@code progress} line every
 * progressIntervalMillis (default 200) from {@link Counters}; the rare events (initialize, leaseLost,
 * shardEnded, shutdownRequested, checkpointFailed) are written as in the default mode.
 */
public final class Kcl35Consumer {
    private Kcl35Consumer() {}

    public static void main(String[] args) throws Exception {
        final Settings settings = Settings.from(args, System.getenv());
        final JsonLines out = new JsonLines(openOutput(settings.get("output", "")));
        final String workerId = settings.require("workerId");
        final Counters counters = Boolean.parseBoolean(settings.get("quiet", "false"))
                ? new Counters(out, settings.getLong("progressIntervalMillis", 200))
                : null;

        final Region region = Region.of(settings.get("region", "us-east-1"));
        final AwsCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(
                settings.get("accessKeyId", envOr("AWS_ACCESS_KEY_ID", "local")),
                settings.get("secretAccessKey", envOr("AWS_SECRET_ACCESS_KEY", "local"))));
        // kinesis-local's plain port serves HTTP/1.1 and h2c; HTTP/1.1 is the reliable one for polling
        // (KinesisClientUtil would force HTTP/2, which is why the client is built here by hand).
        final Protocol protocol = "HTTP2".equals(settings.get("kinesisProtocol", "HTTP1_1")) ? Protocol.HTTP2 : Protocol.HTTP1_1;
        final KinesisAsyncClient kinesis = KinesisAsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .endpointOverride(URI.create(settings.require("kinesisEndpoint")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(protocol).maxConcurrency(100))
                .build();
        final DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .endpointOverride(URI.create(settings.require("dynamoDbEndpoint")))
                .build();
        // Metrics go to the NullMetricsFactory: the client is required by ConfigsBuilder but never called.
        final CloudWatchAsyncClient cloudWatch =
                CloudWatchAsyncClient.builder().region(region).credentialsProvider(credentials).build();

        final String stream = settings.require("stream");
        final ConfigsBuilder configs = new ConfigsBuilder(
                stream,
                settings.require("applicationName"),
                kinesis,
                dynamo,
                cloudWatch,
                workerId,
                () -> new RecordingProcessor(workerId, out, counters));

        final LeaseManagementConfig leases = configs.leaseManagementConfig()
                .failoverTimeMillis(settings.getLong("failoverTimeMillis", 10_000))
                .shardSyncIntervalMillis(settings.getLong("shardSyncIntervalMillis", 60_000))
                .leaseAssignmentIntervalMillis(settings.getLong("leaseAssignmentIntervalMillis", 20_000))
                .maxLeasesForWorker((int) settings.getLong("maxLeasesForWorker", Integer.MAX_VALUE));
        leases.workerUtilizationAwareAssignmentConfig()
                .workerMetricsReporterFreqInMillis(settings.getLong("workerMetricsReporterFreqInMillis", 30_000));
        leases.gracefulLeaseHandoffConfig()
                .gracefulLeaseHandoffTimeoutMillis(settings.getLong("gracefulLeaseHandoffTimeoutMillis", 30_000));

        final CoordinatorConfig coordinator = configs.coordinatorConfig()
                .clientVersionConfig(CoordinatorConfig.ClientVersionConfig.valueOf(
                        settings.get("clientVersionConfig", "CLIENT_VERSION_CONFIG_3X")))
                .migrateAllEntitiesToLeaseTable(Boolean.parseBoolean(settings.get("migrateAllEntitiesToLeaseTable", "false")))
                .parentShardPollIntervalMillis(settings.getLong("parentShardPollIntervalMillis", 10_000));

        final PollingConfig polling = new PollingConfig(stream, kinesis)
                .idleTimeBetweenReadsInMillis(settings.getLong("idleTimeBetweenReadsInMillis", 1500))
                .maxRecords((int) settings.getLong("maxRecords", 10_000));
        final Scheduler scheduler = new Scheduler(
                configs.checkpointConfig(),
                coordinator,
                leases,
                configs.lifecycleConfig(),
                configs.metricsConfig().metricsFactory(new NullMetricsFactory()),
                configs.processorConfig(),
                configs.retrievalConfig()
                        .retrievalSpecificConfig(polling)
                        .initialPositionInStreamExtended(InitialPositionInStreamExtended.newInitialPosition(
                                InitialPositionInStream.valueOf(settings.get("initialPosition", "TRIM_HORIZON")))));

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                scheduler.startGracefulShutdown().get(settings.getLong("shutdownTimeoutMillis", 20_000), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                out.write(JsonLines.object("event", "shutdownFailed", "workerId", workerId, "error", e.toString()));
            }
            out.write(JsonLines.object("event", "stopped", "workerId", workerId));
        }));

        out.write(JsonLines.object("event", "started", "workerId", workerId, "kcl", "3.5.1"));
        if (counters != null) counters.start();
        scheduler.run();
    }

    private static OutputStream openOutput(String path) throws IOException {
        return path.isEmpty() ? System.out : new FileOutputStream(path, true);
    }

    private static String envOr(String name, String fallback) {
        final String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    /** --name=value arguments over KCL35_NAME environment variables (name in upper snake case). */
    static final class Settings {
        private final Map<String, String> values;

        private Settings(Map<String, String> values) {
            this.values = values;
        }

        static Settings from(String[] args, Map<String, String> env) {
            final Map<String, String> values = new HashMap<>();
            for (String arg : args) {
                if (!arg.startsWith("--") || !arg.contains("=")) {
                    throw new IllegalArgumentException("expected --name=value, got " + arg);
                }
                final int eq = arg.indexOf('=');
                values.put(arg.substring(2, eq), arg.substring(eq + 1));
            }
            final Map<String, String> merged = new HashMap<>();
            env.forEach((key, value) -> {
                if (key.startsWith("KCL35_")) merged.put(camel(key.substring("KCL35_".length())), value);
            });
            merged.putAll(values);
            return new Settings(merged);
        }

        private static String camel(String snake) {
            final StringBuilder b = new StringBuilder();
            boolean upper = false;
            for (char c : snake.toLowerCase().toCharArray()) {
                if (c == '_') {
                    upper = true;
                } else {
                    b.append(upper ? Character.toUpperCase(c) : c);
                    upper = false;
                }
            }
            return b.toString();
        }

        String get(String name, String fallback) {
            return values.getOrDefault(name, fallback);
        }

        String require(String name) {
            final String value = values.get(name);
            if (value == null || value.isEmpty()) {
                throw new IllegalArgumentException("missing setting " + name + " (--" + name + "=... or KCL35_"
                        + name.replaceAll("([A-Z])", "_$1").toUpperCase() + ")");
            }
            return value;
        }

        long getLong(String name, long fallback) {
            return values.containsKey(name) ? Long.parseLong(values.get(name)) : fallback;
        }
    }
}
