import { InvalidCheckpointError } from '../../../lib';
import { RecordingCheckpointer, TestRecordFactory } from '../../../lib/testing';
import { compareExtended, positionOf } from '../../../lib/core/sequence-number';

describe('TestRecordFactory and RecordingCheckpointer (unit tests of a processor, no emulator)', () => {
  it('builds records whose sequence numbers increase as real ones do, and KPL user records sharing one', () => {
    const factory = new TestRecordFactory();
    const [a, b] = factory.records([{ customer: 'a' }, { data: 'text', partitionKey: 'k' }]);
    const kpl = factory.aggregated(['x', 'y', 'z']);
    expect(a.sequenceNumber).toMatch(/^\d{56}$/);
    expect(JSON.parse(a.data.toString())).toEqual({ customer: 'a' });
    expect([b.data.toString(), b.partitionKey]).toEqual(['text', 'k']);
    expect(BigInt(b.sequenceNumber) > BigInt(a.sequenceNumber)).toBe(true);
    expect(kpl.map((r) => [r.sequenceNumber, r.subSequenceNumber])).toEqual([0, 1, 2].map((i) => [kpl[0].sequenceNumber, i]));
    expect(compareExtended(positionOf(kpl[0]), positionOf(kpl[2]))).toBeLessThan(0);
  });

  it("records a processor's checkpoints under the engines' rules", async () => {
    const factory = new TestRecordFactory();
    const checkpointer = new RecordingCheckpointer();
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(InvalidCheckpointError);
    const records = checkpointer.deliver(factory.records(3));
    await checkpointer.checkpoint(records[1]);
    await checkpointer.checkpoint();
    expect(checkpointer.checkpoints.map((c) => c.sequenceNumber)).toEqual([records[1].sequenceNumber, records[2].sequenceNumber]);
    await expect(checkpointer.checkpoint(records[0])).rejects.toThrow(/before the current checkpoint/);
    await expect(checkpointer.checkpoint(factory.nextSequenceNumber())).rejects.toThrow(/never delivered/);
    await checkpointer.endShard().checkpoint();
    expect(checkpointer.finished).toBe(true);
  });
});
