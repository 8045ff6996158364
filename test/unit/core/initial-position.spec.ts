import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import type { StreamWorkerOptions } from '../../../lib/core/options';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';

const base: StreamWorkerOptions = { appName: 'initial-position', streamName: 'orders', region: 'eu-west-1' };

function rejection(initialPosition: unknown): KinesisWorkerConfigError {
  try {
    resolveWorkerOptions({ ...base, initialPosition: initialPosition as never });
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('initialPosition');
    return error as KinesisWorkerConfigError;
  }
  throw new Error(`accepted ${String(initialPosition)}`);
}

describe('initialPosition', () => {
  it('defaults to TRIM_HORIZON and accepts the named positions', () => {
    expect(resolveWorkerOptions(base).initialPosition).toBe('TRIM_HORIZON');
    expect(resolveWorkerOptions({ ...base, initialPosition: 'LATEST' }).initialPosition).toBe('LATEST');
  });

  it('accepts a past timestamp and keeps its own copy of the Date', () => {
    const timestamp = new Date('2026-01-31T12:00:00.123Z');
    const resolved = resolveWorkerOptions({ ...base, initialPosition: { timestamp } }).initialPosition;
    timestamp.setTime(0);
    expect(resolved).toEqual({ timestamp: new Date('2026-01-31T12:00:00.123Z') });
  });

  it('accepts a timestamp a little ahead of this clock (skew between hosts)', () => {
    const timestamp = new Date(Date.now() + 60_000);
    expect(resolveWorkerOptions({ ...base, initialPosition: { timestamp } }).initialPosition).toEqual({ timestamp });
  });

  it('refuses a timestamp well in the future, naming the option and LATEST', () => {
    const error = rejection({ timestamp: new Date(Date.now() + 3_600_000) });
    expect(error.message).toContain('in the future');
    expect(error.message).toContain("'LATEST'");
  });

  it('refuses an invalid Date, a timestamp that is not a Date, and unknown names', () => {
    expect(rejection({ timestamp: new Date('not a date') }).message).toContain('Invalid Date');
    expect(rejection({ timestamp: '2026-01-31T12:00:00Z' }).message).toContain('new Date(');
    expect(rejection({}).message).toContain('missing');
    expect(rejection('AT_TIMESTAMP').message).toContain('{ timestamp: new Date(');
    expect(rejection(null).message).toContain("'TRIM_HORIZON'");
  });
});
