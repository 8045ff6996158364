import { KinesisWorkerConfigError } from './errors';
import { INITIAL_POSITIONS, type InitialPosition, type TimestampPosition } from './options';

/**
 * How far ahead of this host's clock a start timestamp may be: a little clock skew between the host that
 * computed it and this one is fine, a date in the future is a mistake (nothing would be read until then).
 */
export const MAX_FUTURE_TIMESTAMP_MS = 5 * 60_000;

export function isTimestampPosition(position: InitialPosition): position is TimestampPosition {
  return typeof position === 'object';
}

/** The checkpoint sentinel a new root lease gets for this initial position (the timestamp itself is config). */
export function initialCheckpointOf(position: InitialPosition): 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' {
  return isTimestampPosition(position) ? 'AT_TIMESTAMP' : position;
}

/** Validates the initialPosition option; a timestamp is copied, so that a later change to the caller's Date changes nothing. */
export function resolveInitialPosition(value: unknown, now = Date.now()): InitialPosition {
  if (value === undefined) return 'TRIM_HORIZON';
  if (typeof value === 'string' && (INITIAL_POSITIONS as readonly string[]).includes(value)) return value as InitialPosition;
  const usage = `use 'TRIM_HORIZON' or 'LATEST', or { timestamp: new Date('2026-01-31T12:00:00Z') } to start at a time`;
  if (value === null || typeof value !== 'object') {
    throw new KinesisWorkerConfigError('initialPosition', `unknown initial position ${JSON.stringify(value)}; ${usage}.`);
  }
  const timestamp = (value as { timestamp?: unknown }).timestamp;
  if (!(timestamp instanceof Date) || Number.isNaN(timestamp.getTime())) {
    throw new KinesisWorkerConfigError(
      'initialPosition',
      `expected { timestamp: Date } with a valid Date, got timestamp ${describe(timestamp)}; ${usage}.`,
    );
  }
  if (timestamp.getTime() > now + MAX_FUTURE_TIMESTAMP_MS) {
    throw new KinesisWorkerConfigError(
      'initialPosition',
      `the timestamp ${timestamp.toISOString()} is in the future (this host's clock says ${new Date(now).toISOString()}); ` +
        `a start timestamp must be in the past (up to ${MAX_FUTURE_TIMESTAMP_MS / 60_000} minutes of clock skew is accepted). Use 'LATEST' to start at new records.`,
    );
  }
  return Object.freeze({ timestamp: new Date(timestamp.getTime()) });
}

function describe(value: unknown): string {
  if (value instanceof Date) return 'Invalid Date';
  if (value === undefined) return 'undefined (missing)';
  return `${JSON.stringify(value)} (a ${typeof value}; convert it with new Date(...))`;
}
