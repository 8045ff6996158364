import { CheckpointSchedule } from '../../../lib/core/checkpoint-schedule';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';
import { KinesisWorkerConfigError } from '../../../lib/core/errors';

describe('CheckpointSchedule', () => {
  it('is due after everyRecords records or everyMs, whichever comes first, and starts again after a checkpoint', () => {
    let now = 0;
    const schedule = new CheckpointSchedule({ everyRecords: 10, everyMs: 1_000 }, () => now);
    expect(schedule.afterBatch(4)).toBe(false);
    expect(schedule.afterBatch(6)).toBe(true);
    schedule.checkpointed();
    expect(schedule.pending).toBe(false);
    now = 999;
    expect(schedule.afterBatch(1)).toBe(false);
    now = 1_000;
    expect(schedule.afterBatch(1)).toBe(true);
    expect(schedule.pending).toBe(true);
  });
});

describe('autoCheckpoint and onFailedBatch options', () => {
  const base = { appName: 'app', streamName: 's', region: 'eu-west-1' };
  it("resolves 'batch' and the object form", () => {
    expect(resolveWorkerOptions({ ...base, autoCheckpoint: 'batch' }).autoCheckpoint).toEqual({ everyRecords: 1, everyMs: Infinity });
    expect(resolveWorkerOptions({ ...base, autoCheckpoint: { everyMs: 5_000 } }).autoCheckpoint).toEqual({
      everyRecords: Infinity,
      everyMs: 5_000,
    });
    expect(resolveWorkerOptions(base).autoCheckpoint).toBeUndefined();
  });
  it.each([[{}], [{ everyRecord: 5 }], [{ everyRecords: 0 }], ['always']])('refuses autoCheckpoint %j, naming the option', (value) => {
    expect(() => resolveWorkerOptions({ ...base, autoCheckpoint: value as never })).toThrow(KinesisWorkerConfigError);
    expect(() => resolveWorkerOptions({ ...base, autoCheckpoint: value as never })).toThrow(/autoCheckpoint/);
  });
  it('refuses an onFailedBatch that is not a function', () => {
    expect(() => resolveWorkerOptions({ ...base, onFailedBatch: 'dlq' as never })).toThrow(/onFailedBatch/);
  });
});
