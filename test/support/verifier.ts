import type { PutResult } from '../../lib/testing';
import type { WorkerFileEvent } from './worker-process';

type Batch = Extract<WorkerFileEvent, { kind: 'batch' }>;
type Checkpointed = Extract<WorkerFileEvent, { kind: 'checkpointed' }>;

/** One processor instance's life on one shard: from its initialize to the next one of the same worker. */
export interface Session {
  readonly worker: string;
  readonly shardId: string;
  readonly startCheckpoint: string;
  readonly startedAt: number;
  readonly batches: Batch[];
  readonly checkpoints: Checkpointed[];
}

export function sessionsOf(events: readonly WorkerFileEvent[]): Session[] {
  const sessions: Session[] = [];
  const current = new Map<string, Session>();
  for (const event of events) {
    if (event.kind === 'initialize') {
      const session: Session = {
        worker: event.worker,
        shardId: event.shardId,
        startCheckpoint: event.checkpoint,
        startedAt: event.at,
        batches: [],
        checkpoints: [],
      };
      sessions.push(session);
      current.set(`${event.worker}/${event.shardId}`, session);
    } else if (event.kind === 'batch') {
      current.get(`${event.worker}/${event.shardId}`)?.batches.push(event);
    } else if (event.kind === 'checkpointed') {
      current.get(`${event.worker}/${event.shardId}`)?.checkpoints.push(event);
    }
  }
  return sessions;
}

const isSeq = (value: string) => /^\d+$/.test(value);

/** Within a session sequence numbers rise strictly, and nothing at or before the stored checkpoint comes again. */
export function orderViolations(events: readonly WorkerFileEvent[]): string[] {
  const problems: string[] = [];
  for (const session of sessionsOf(events)) {
    let previous = isSeq(session.startCheckpoint) ? BigInt(session.startCheckpoint) : -1n;
    for (const record of session.batches.flatMap((b) => b.records)) {
      const seq = BigInt(record.seq);
      if (seq <= previous)
        problems.push(`${session.worker}/${session.shardId}: ${record.seq} after ${previous} (checkpoint ${session.startCheckpoint})`);
      previous = seq;
    }
  }
  return problems;
}

export interface DuplicateReport {
  readonly missing: string[];
  readonly duplicates: number;
  /** Duplicates that the KCL's at-least-once window does not explain. */
  readonly unexplained: string[];
}

/**
 * Every record put must be delivered. A record may come twice only when the session that saw it first
 * ended without a checkpoint covering it (killed, or its lease lost): that is the at-least-once window.
 */
export function duplicateReport(puts: readonly PutResult[], events: readonly WorkerFileEvent[]): DuplicateReport {
  // With nothing put, "nothing missing" would hold whatever the workers did (a producer whose every put failed).
  if (puts.length === 0) throw new Error('duplicateReport: no record was put, so the report would prove nothing (did the producer fail?)');
  const sessions = sessionsOf(events);
  const firstSeenIn = new Map<string, Session>();
  const missing: string[] = [];
  const unexplained: string[] = [];
  let duplicates = 0;
  for (const session of [...sessions].sort((a, b) => a.startedAt - b.startedAt)) {
    for (const record of session.batches.flatMap((b) => b.records)) {
      const earlier = firstSeenIn.get(record.seq);
      if (!earlier) {
        firstSeenIn.set(record.seq, session);
        continue;
      }
      duplicates++;
      const lastCheckpoint = earlier.checkpoints.at(-1)?.seq;
      if (lastCheckpoint !== undefined && BigInt(lastCheckpoint) >= BigInt(record.seq)) {
        unexplained.push(
          `${record.seq} on ${session.shardId}: delivered by ${earlier.worker} and checkpointed at ${lastCheckpoint}, then again by ${session.worker}`,
        );
      }
    }
  }
  for (const put of puts) if (!firstSeenIn.has(put.sequenceNumber)) missing.push(`${put.shardId}/${put.sequenceNumber}`);
  return { missing, duplicates, unexplained };
}

/**
 * Two workers inside processRecords for one shard: for every later session, at most one batch of an
 * earlier session on that shard may end after the later one began delivering.
 */
export function overlapViolations(events: readonly WorkerFileEvent[]): string[] {
  const problems: string[] = [];
  const sessions = sessionsOf(events);
  for (const later of sessions) {
    const firstStart = later.batches[0]?.start;
    if (firstStart === undefined) continue;
    for (const earlier of sessions) {
      if (earlier === later || earlier.shardId !== later.shardId || earlier.worker === later.worker || earlier.startedAt >= later.startedAt)
        continue;
      const overlapping = earlier.batches.filter((b) => b.end > firstStart);
      if (overlapping.length > 1)
        problems.push(`${earlier.worker} delivered ${overlapping.length} batches of ${later.shardId} after ${later.worker} started`);
    }
  }
  return problems;
}

/**
 * The batches delivered by the holder of their lease: those whose checkpoint, written right after the batch
 * (worker-process.ts), was stored. A worker whose lease another worker has taken learns so at its next
 * renewal or checkpoint; until then it may deliver a batch it read (the KCL's at-least-once window, see
 * overlapViolations). That zombie's batch can come after the new owner finished the shard, and after the
 * shard's children started; its checkpoint fails (LeaseLostError) and its records come again from the owner.
 * A batch counts as the holder's when the next checkpoint result of its worker on its shard stored its last record.
 */
export function holderBatches(events: readonly WorkerFileEvent[]): Batch[] {
  const held: Batch[] = [];
  events.forEach((event, index) => {
    if (event.kind !== 'batch') return;
    const result = events
      .slice(index + 1)
      .find(
        (e) => (e.kind === 'checkpointed' || e.kind === 'checkpointFailed') && e.worker === event.worker && e.shardId === event.shardId,
      );
    if (result?.kind === 'checkpointed' && result.seq === event.records.at(-1)?.seq) held.push(event);
  });
  return held;
}
