import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { putRecords, type PutResult } from '../../lib/testing';

/** Errors a scenario causes on purpose, with the reason they are expected there. */
export interface ExpectedPutErrors {
  readonly pattern: RegExp;
  readonly why: string;
}

/**
 * Puts records in the background until stopped, remembering where each one landed. A put that fails is
 * put again; `stop()` rejects if any failure did not match the scenario's `expectedErrors`, so that a
 * producer that failed quietly (and so put fewer records than the test believes) cannot pass a test.
 */
export class BackgroundProducer {
  readonly puts: PutResult[] = [];
  readonly errors: string[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private counter = 0;
  /** Every producer started, so that a failed test can still stop them all. */
  static readonly active = new Set<BackgroundProducer>();

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: string,
    private readonly batchSize = 10,
    private readonly pauseMs = 150,
    private readonly expectedErrors?: ExpectedPutErrors,
  ) {}

  start(): void {
    BackgroundProducer.active.add(this);
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const batch = Array.from({ length: this.batchSize }, () => {
          const n = this.counter++;
          return { partitionKey: `pk-${n % 97}-${n}`, data: `rec-${n}` };
        });
        try {
          this.puts.push(...(await putRecords(this.kinesis, this.stream, batch)));
        } catch (error) {
          // A stream being resharded may refuse writes for a moment; the batch is put again below.
          this.counter -= batch.length;
          this.errors.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
      }
    })();
  }

  /** Stops putting; rejects with every put error the scenario did not expect. */
  async stop(): Promise<void> {
    await this.halt();
    const unexpected = this.errors.filter((error) => !this.expectedErrors?.pattern.test(error));
    if (unexpected.length > 0)
      throw new Error(
        `${unexpected.length} puts to '${this.stream}' failed unexpectedly (each was put again)${this.expectedErrors ? `; expected only ${String(this.expectedErrors.pattern)} because ${this.expectedErrors.why}` : ''}:\n${[...new Set(unexpected)].join('\n')}`,
      );
  }

  private async halt(): Promise<void> {
    BackgroundProducer.active.delete(this);
    this.running = false;
    await this.loop;
  }

  /** The clean-up after a test: stops every producer still running, without judging its errors. */
  static async stopAll(): Promise<void> {
    await Promise.all([...BackgroundProducer.active].map((producer) => producer.halt()));
  }

  /** Records per shard in sequence order. */
  byShard(): Map<string, PutResult[]> {
    const map = new Map<string, PutResult[]>();
    for (const put of this.puts) map.set(put.shardId, [...(map.get(put.shardId) ?? []), put]);
    for (const list of map.values()) list.sort((a, b) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1));
    return map;
  }
}
