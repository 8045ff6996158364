import type { Kcl35Event } from './kcl35-consumer';
import { sessionsOf } from './verifier';
import type { WorkerFileEvent } from './worker-process';

/**
 * The shard sessions of a fleet of Java KCL 3.5.1 test consumers and native worker processes, in one form:
 * one processor instance on one shard, from its initialize, with what it was given and what it
 * checkpointed. Both sides stamp their events with this host's wall clock, so sessions of different
 * processes can be ordered.
 */
export interface FleetSession {
  readonly worker: string;
  readonly shardId: string;
  readonly startedAt: number;
  /** The lease checkpoint the session started from (a sequence number or a sentinel such as TRIM_HORIZON). */
  readonly startCheckpoint: string;
  readonly records: { readonly seq: string; readonly data: string }[];
  readonly checkpoints: { readonly seq: string; readonly at: number }[];
}

export function javaSessions(events: readonly Kcl35Event[]): FleetSession[] {
  const sessions: FleetSession[] = [];
  const current = new Map<string, FleetSession & { lastRecordSeq?: string }>();
  for (const event of events) {
    if (event.event === 'initialize') {
      const session = {
        worker: event.workerId,
        shardId: event.shardId,
        startedAt: event.at,
        startCheckpoint: event.sequenceNumber ?? 'TRIM_HORIZON',
        records: [],
        checkpoints: [],
      };
      sessions.push(session);
      current.set(event.shardId, session);
    } else if (event.event === 'record') {
      const session = current.get(event.shardId);
      session?.records.push({ seq: event.sequenceNumber, data: event.data });
      if (session) session.lastRecordSeq = event.sequenceNumber;
    } else if (event.event === 'checkpoint') {
      const session = current.get(event.shardId);
      // null: the checkpointer's own position, the last record delivered (or SHARD_END at shard end).
      const seq = event.sequenceNumber ?? session?.lastRecordSeq;
      if (session && seq) session.checkpoints.push({ seq, at: event.at });
    }
  }
  return sessions;
}

export function nativeSessions(events: readonly WorkerFileEvent[]): FleetSession[] {
  return sessionsOf(events).map((s) => ({
    worker: s.worker,
    shardId: s.shardId,
    startedAt: s.startedAt,
    startCheckpoint: s.startCheckpoint,
    records: s.batches.flatMap((b) => b.records),
    checkpoints: s.checkpoints.map((c) => ({ seq: c.seq, at: c.at })),
  }));
}

const position = (value: string): bigint => (/^\d+$/.test(value) ? BigInt(value) : -1n);

/**
 * "Nothing checkpointed is replayed": every session starts at or after every checkpoint written on its
 * shard before it started (by any worker), and delivers only records after its start. Records after the
 * last checkpoint of a killed owner may come again; records at or before a checkpoint never.
 */
export function replayViolations(sessions: readonly FleetSession[]): string[] {
  const problems: string[] = [];
  for (const session of sessions) {
    const start = position(session.startCheckpoint);
    const earlier = sessions
      .filter((other) => other.shardId === session.shardId)
      .flatMap((other) => other.checkpoints)
      .filter((checkpoint) => checkpoint.at < session.startedAt)
      .map((checkpoint) => position(checkpoint.seq));
    const highest = earlier.reduce((a, b) => (b > a ? b : a), -1n);
    if (start < highest)
      problems.push(
        `${session.worker}/${session.shardId} started at ${session.startCheckpoint}, before the checkpoint ${highest} written earlier`,
      );
    for (const record of session.records)
      if (position(record.seq) <= highest)
        problems.push(`${session.worker}/${session.shardId} delivered ${record.seq}, at or before the checkpoint ${highest}`);
  }
  return problems;
}
