import type { ExtendedSequenceNumber } from '../../../core/record';
import { compareExtended } from '../../../core/sequence-number';

interface Entry {
  readonly position: ExtendedSequenceNumber;
  done: boolean;
}

function keyOf(position: ExtendedSequenceNumber): string {
  return `${position.sequenceNumber}/${position.subSequenceNumber}`;
}

/**
 * The checkpoint arithmetic of records that finish out of order, with no I/O: the watermark is the
 * highest position at or below which every record read has finished. Each KPL user record is its own
 * position (sequence number, sub-sequence number), so an aggregated record counts as finished only once
 * all its user records have: the watermark reaches (seq, last sub) only then, and never passes a
 * sub-record still running. A checkpoint at (seq, k) is exact: the reader resumes AT_SEQUENCE_NUMBER
 * seq and drops the user records up to k (retrieval/start-position.ts).
 *
 * Positions are added in shard order (the order they were read); finishing one out of order only moves
 * the watermark once every earlier one finished. Memory: one entry per record between the watermark
 * and the last record added.
 */
export class CompletionWatermark {
  /** Records added and not yet under the watermark, in shard order; the front is unfinished. */
  private readonly pending: Entry[] = [];
  private head = 0;
  private readonly byPosition = new Map<string, Entry>();
  private mark: ExtendedSequenceNumber | undefined;
  private last: ExtendedSequenceNumber | undefined;

  /** @param start the position everything up to which already finished (the stored checkpoint), if a sequence number. */
  constructor(start?: ExtendedSequenceNumber) {
    this.mark = start;
    this.last = start;
  }

  /** Records a position read from the shard; positions must come in increasing order. */
  add(position: ExtendedSequenceNumber): void {
    if (this.last && compareExtended(position, this.last) <= 0) {
      throw new Error(
        `positions must be added in shard order: ${keyOf(position)} comes after ${keyOf(this.last)} (a record read twice, or out of order)`,
      );
    }
    const entry: Entry = { position, done: false };
    this.pending.push(entry);
    this.byPosition.set(keyOf(position), entry);
    this.last = position;
  }

  /** Marks a position finished; true when the watermark moved. Finishing an unknown or finished position is an error. */
  finish(position: ExtendedSequenceNumber): boolean {
    const key = keyOf(position);
    const entry = this.byPosition.get(key);
    if (!entry || entry.done) throw new Error(`${key} was not added, or finished twice`);
    entry.done = true;
    this.byPosition.delete(key);
    let moved = false;
    while (this.head < this.pending.length && this.pending[this.head].done) {
      this.mark = this.pending[this.head].position;
      this.head++;
      moved = true;
    }
    // Compact now and then, so that the array does not keep every record ever read.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }

  /** The highest position at or below which every record added has finished (undefined: none yet, and no start). */
  get watermark(): ExtendedSequenceNumber | undefined {
    return this.mark;
  }

  /** Records added and not yet under the watermark (finished ones behind an unfinished one count too). */
  get unsettled(): number {
    return this.pending.length - this.head;
  }

  /** Records added and not finished. */
  get unfinished(): number {
    return this.byPosition.size;
  }

  /** True when every record added has finished: the watermark is the last one added. */
  get allFinished(): boolean {
    return this.unsettled === 0;
  }
}
