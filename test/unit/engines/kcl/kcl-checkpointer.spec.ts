import { InvalidCheckpointError, KinesisWorkerError, LeaseLostError, type ExtendedSequenceNumber } from '../../../../lib';
import { KclCheckpointer } from '../../../../lib/engines/kcl/kcl-checkpointer';

const SEQ = (n: number) => `4968061264274881052013050876133${String(n).padStart(25, '0')}`;
const at = (n: number, sub = 0): ExtendedSequenceNumber => ({ sequenceNumber: SEQ(n), subSequenceNumber: sub });
const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

function setup(
  answers: (string | null)[] = [],
  initial: ExtendedSequenceNumber = { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
) {
  const sent: ExtendedSequenceNumber[] = [];
  const warnings: string[] = [];
  const lost: string[] = [];
  const checkpointer = new KclCheckpointer(
    'shardId-000000000001',
    initial,
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed daemon checkpoint answer, given at once
    async (position) => {
      sent.push(position);
      return answers.length > 0 ? answers.shift()! : null;
    },
    retry,
    { log() {}, error() {}, warn: (m) => void warnings.push(m) },
    (detail) => lost.push(detail),
  );
  return { checkpointer, sent, warnings, lost };
}

describe('the kcl engine checkpointer', () => {
  it('checkpoint() sends the last record delivered explicitly, checkpoint(record) and (seq, sub) an earlier one', async () => {
    const { checkpointer, sent } = setup();
    checkpointer.markDelivered(at(5, 2));
    checkpointer.openWindow();
    await checkpointer.checkpoint({ sequenceNumber: SEQ(3) });
    await checkpointer.checkpoint(SEQ(4), 1);
    await checkpointer.checkpoint();
    expect(sent).toEqual([at(3), at(4, 1), at(5, 2)]);
    expect(checkpointer.lastCheckpoint).toEqual(at(5, 2));
  });

  it('validates positions before asking the daemon: delivered, not before the stored checkpoint, a sequence number', async () => {
    const { checkpointer, sent } = setup([], at(2));
    checkpointer.openWindow();
    await expect(checkpointer.checkpoint()).rejects.toThrow(/no record has been delivered/);
    checkpointer.markDelivered(at(5));
    await expect(checkpointer.checkpoint(SEQ(6))).rejects.toThrow(/never delivered/);
    await expect(checkpointer.checkpoint(SEQ(1))).rejects.toThrow(/before the current checkpoint/);
    await expect(checkpointer.checkpoint('abc')).rejects.toBeInstanceOf(InvalidCheckpointError);
    await expect(checkpointer.checkpoint('SHARD_END')).rejects.toThrow(/has not ended/);
    expect(sent).toEqual([]);
  });

  it('refuses a checkpoint outside processRecords and shutdown: the protocol has no checkpointer then', async () => {
    const { checkpointer, sent } = setup();
    checkpointer.markDelivered(at(5));
    await expect(checkpointer.checkpoint()).rejects.toThrow(/checkpoints only while processRecords or shutdown is running/);
    expect(sent).toEqual([]);
  });

  it('maps the daemon errors: ShutdownException to LeaseLostError (and closes), InvalidState/IllegalArgument to InvalidCheckpointError', async () => {
    const { checkpointer, lost } = setup(['IllegalArgumentException', 'InvalidStateException', 'ShutdownException']);
    checkpointer.markDelivered(at(5));
    checkpointer.openWindow();
    await expect(checkpointer.checkpoint()).rejects.toThrow(/the Java KCL refused it \(IllegalArgumentException\)/);
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(InvalidCheckpointError);
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost).toHaveLength(1);
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('retries throttling and dependency failures with backoff, up to checkpointRetry.maxAttempts', async () => {
    const ok = setup(['ThrottlingException', 'KinesisClientLibDependencyException', null]);
    ok.checkpointer.markDelivered(at(5));
    ok.checkpointer.openWindow();
    await ok.checkpointer.checkpoint();
    expect(ok.sent).toHaveLength(3);
    expect(ok.warnings).toHaveLength(2);

    const failing = setup(['ThrottlingException', 'ThrottlingException', 'ThrottlingException']);
    failing.checkpointer.markDelivered(at(5));
    failing.checkpointer.openWindow();
    await expect(failing.checkpointer.checkpoint()).rejects.toBeInstanceOf(KinesisWorkerError);
    expect(failing.sent).toHaveLength(3);
  });

  it('at shard end, checkpoint() means SHARD_END; a rolled-back batch is not covered', async () => {
    const { checkpointer, sent } = setup();
    checkpointer.markDelivered(at(4));
    checkpointer.markDelivered(at(9));
    checkpointer.rollBackDelivered(at(4));
    checkpointer.openWindow();
    await expect(checkpointer.checkpoint(SEQ(9))).rejects.toThrow(/never delivered/);
    await checkpointer.checkpoint();
    checkpointer.markShardEnded();
    await checkpointer.checkpoint();
    expect(sent.map((p) => p.sequenceNumber)).toEqual([SEQ(4), 'SHARD_END']);
    expect(checkpointer.finished).toBe(true);
  });

  it('sends one checkpoint at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const checkpointer = new KclCheckpointer(
      's',
      at(0),
      async () => {
        maxActive = Math.max(maxActive, ++active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        active--;
        return null;
      },
      retry,
      { log() {}, warn() {}, error() {} },
    );
    checkpointer.markDelivered(at(5));
    checkpointer.openWindow();
    await Promise.all([checkpointer.checkpoint(SEQ(1)), checkpointer.checkpoint(SEQ(2)), checkpointer.checkpoint()]);
    expect(maxActive).toBe(1);
    expect(checkpointer.lastCheckpoint).toEqual(at(5));
  });
});
