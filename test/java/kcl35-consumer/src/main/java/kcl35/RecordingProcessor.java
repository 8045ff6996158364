package kcl35;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import software.amazon.kinesis.exceptions.KinesisClientLibException;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.processor.RecordProcessorCheckpointer;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.retrieval.KinesisClientRecord;
import software.amazon.kinesis.retrieval.kpl.ExtendedSequenceNumber;

/**
 * Writes every call it gets as JSON lines and checkpoints after each batch (at its last record), at shard end
 * (SHARD_END) and on a requested shutdown. A failed checkpoint is written as an event, never thrown: the tests
 * read what happened from the lines. With {@link Counters} (the bench's quiet mode) it writes no line per
 * record, batch or successful checkpoint, and counts records and bytes there instead.
 */
final class RecordingProcessor implements ShardRecordProcessor {
    private final String workerId;
    private final JsonLines out;
    /** Null: a line per record, batch and checkpoint; else only counts (quiet). */
    private final Counters counters;
    private String shardId = "?";

    RecordingProcessor(String workerId, JsonLines out, Counters counters) {
        this.workerId = workerId;
        this.out = out;
        this.counters = counters;
    }

    @Override
    public void initialize(InitializationInput input) {
        shardId = input.shardId();
        final ExtendedSequenceNumber at = input.extendedSequenceNumber();
        out.write(JsonLines.object(
                "event", "initialize",
                "workerId", workerId,
                "shardId", shardId,
                "sequenceNumber", at == null ? null : at.sequenceNumber(),
                "subSequenceNumber", at == null ? null : at.subSequenceNumber()));
    }

    @Override
    public void processRecords(ProcessRecordsInput input) {
        final List<KinesisClientRecord> records = input.records();
        if (counters != null) {
            long bytes = 0;
            for (KinesisClientRecord record : records) bytes += record.data().remaining();
            counters.delivered(shardId, records.size(), bytes);
            if (records.isEmpty()) return;
            final KinesisClientRecord last = records.get(records.size() - 1);
            checkpoint(input.checkpointer(), last.sequenceNumber(), last.subSequenceNumber());
            return;
        }
        for (KinesisClientRecord record : records) {
            final ByteBuffer data = record.data().asReadOnlyBuffer();
            final byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            out.write(JsonLines.object(
                    "event", "record",
                    "workerId", workerId,
                    "shardId", shardId,
                    "sequenceNumber", record.sequenceNumber(),
                    "subSequenceNumber", record.subSequenceNumber(),
                    "partitionKey", record.partitionKey(),
                    "data", new String(bytes, StandardCharsets.UTF_8),
                    "dataBase64", Base64.getEncoder().encodeToString(bytes)));
        }
        out.write(JsonLines.object(
                "event", "records", "workerId", workerId, "shardId", shardId, "count", records.size(),
                "millisBehindLatest", input.millisBehindLatest()));
        if (records.isEmpty()) return;
        final KinesisClientRecord last = records.get(records.size() - 1);
        checkpoint(input.checkpointer(), last.sequenceNumber(), last.subSequenceNumber());
    }

    @Override
    public void leaseLost(LeaseLostInput input) {
        out.write(JsonLines.object("event", "leaseLost", "workerId", workerId, "shardId", shardId));
    }

    @Override
    public void shardEnded(ShardEndedInput input) {
        out.write(JsonLines.object("event", "shardEnded", "workerId", workerId, "shardId", shardId));
        checkpoint(input.checkpointer(), null, 0);
    }

    @Override
    public void shutdownRequested(ShutdownRequestedInput input) {
        out.write(JsonLines.object("event", "shutdownRequested", "workerId", workerId, "shardId", shardId));
        checkpoint(input.checkpointer(), null, 0);
    }

    /** sequenceNumber null: the checkpointer's own position (the last record delivered, or SHARD_END at shard end). */
    private void checkpoint(RecordProcessorCheckpointer checkpointer, String sequenceNumber, long subSequenceNumber) {
        try {
            if (sequenceNumber == null) checkpointer.checkpoint();
            else checkpointer.checkpoint(sequenceNumber, subSequenceNumber);
            if (counters != null) {
                counters.checkpointed();
                return;
            }
            out.write(JsonLines.object(
                    "event", "checkpoint", "workerId", workerId, "shardId", shardId,
                    "sequenceNumber", sequenceNumber, "subSequenceNumber", subSequenceNumber));
        } catch (KinesisClientLibException | RuntimeException e) {
            out.write(JsonLines.object(
                    "event", "checkpointFailed", "workerId", workerId, "shardId", shardId,
                    "sequenceNumber", sequenceNumber, "error", e.getClass().getSimpleName() + ": " + e.getMessage()));
        }
    }
}
