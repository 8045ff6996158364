import type { KinesisRecord } from '../../lib';
import { compareExtended, positionOf } from '../../lib/core/sequence-number';

/**
 * Watches processRecord calls for the per-partition-key guarantee: a key's records start one after
 * another (the previous one finished) and in sequence order. Every violation is kept, with what it was.
 */
export class KeyOrderWatch {
  readonly violations: string[] = [];
  private readonly running = new Map<string, string>();
  private readonly last = new Map<string, KinesisRecord>();

  started(record: KinesisRecord): void {
    const key = record.partitionKey;
    const at = `${record.sequenceNumber}/${record.subSequenceNumber ?? 0}`;
    const busy = this.running.get(key);
    if (busy !== undefined) this.violations.push(`key ${key}: ${at} started while ${busy} still ran`);
    const previous = this.last.get(key);
    if (previous && compareExtended(positionOf(record), positionOf(previous)) <= 0)
      this.violations.push(`key ${key}: ${at} started after ${previous.sequenceNumber}/${previous.subSequenceNumber ?? 0}`);
    this.running.set(key, at);
    this.last.set(key, record);
  }

  finished(record: KinesisRecord): void {
    this.running.delete(record.partitionKey);
  }

  /** A record whose handler threw: it runs again (a retry) before the key goes on. */
  failed(record: KinesisRecord): void {
    this.running.delete(record.partitionKey);
    const previous = this.last.get(record.partitionKey);
    if (previous === record) this.last.delete(record.partitionKey);
  }
}
