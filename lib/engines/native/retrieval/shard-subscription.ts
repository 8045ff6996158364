import {
  SubscribeToShardCommand,
  type KinesisClient,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { KinesisWorkerError } from '../../../core/errors';
import { SUBSCRIBE_TIMEOUT_MS } from '../../../core/retrieval-options';
import type { ReadPosition } from './start-position';

/**
 * No event for this long means the stream is dead (a half-open connection, a blackholed peer): Kinesis
 * sends an event at least every few seconds on a live subscription, with or without records.
 */
export const SUBSCRIPTION_IDLE_TIMEOUT_MS = 35_000;

/** The request handler returned no event stream: it cannot stream responses (retrieval.requestHandler). */
export class NotStreamingError extends KinesisWorkerError {
  constructor() {
    super(
      'SubscribeToShard answered without an event stream: the request handler cannot stream responses. Use the default (a NodeHttp2Handler, what real Kinesis needs) or new NodeHttpHandler() from @smithy/node-http-handler for kinesis-local, as retrieval.requestHandler.',
    );
  }
}

/** The subscription saw no event for idleTimeoutMs and was cancelled. */
export class SubscriptionIdleError extends KinesisWorkerError {}

/** SubscribeToShard did not answer, or sent no first event, within subscribeTimeoutMs; the request was cancelled. */
export class SubscribeTimeoutError extends KinesisWorkerError {}

export interface SubscriptionRequest {
  readonly client: KinesisClient;
  readonly consumerArn: string;
  readonly shardId: string;
  readonly position: ReadPosition;
  readonly signal: AbortSignal;
  readonly idleTimeoutMs?: number;
  /** The bound on the answer to SubscribeToShard and on its first event (retrieval.subscribeTimeoutMs). */
  readonly subscribeTimeoutMs?: number;
}

/**
 * One SubscribeToShard call: its events, one at a time. The next event is read from the SDK's stream only
 * when the caller asks for it, so a slow processor leaves the bytes in the socket and TCP flow control
 * pushes back on Kinesis; nothing is buffered here. The subscription ends when Kinesis ends it (after
 * 5 minutes, or earlier on the emulator), when it fails (an error event, a reset connection), when it is
 * idle too long, or when `close()` or the caller's signal cancels it (which aborts the HTTP request).
 */
export class ShardSubscription {
  private readonly cancel = new AbortController();
  private events: AsyncIterator<SubscribeToShardEventStream> | undefined;
  private readonly unlink: () => void;
  private eventSeen = false;

  constructor(private readonly request: SubscriptionRequest) {
    const onAbort = () => this.cancel.abort();
    request.signal.addEventListener('abort', onAbort, { once: true });
    this.unlink = () => request.signal.removeEventListener('abort', onAbort);
  }

  /**
   * Sends SubscribeToShard; rejects as the SDK does (ResourceInUseException, LimitExceededException, ...),
   * or with SubscribeTimeoutError when no answer came within subscribeTimeoutMs (the request is aborted).
   */
  async open(): Promise<void> {
    const { client, consumerArn, shardId, position } = this.request;
    const out = await this.within(
      this.subscribeTimeoutMs,
      client.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: shardId,
          StartingPosition: { Type: position.type, SequenceNumber: position.sequenceNumber, Timestamp: position.timestamp },
        }),
        { abortSignal: this.cancel.signal },
      ),
      () =>
        new SubscribeTimeoutError(
          `SubscribeToShard on ${shardId} did not answer within ${this.subscribeTimeoutMs} ms (retrieval.subscribeTimeoutMs); cancelling the request`,
        ),
    );
    const stream = out.EventStream;
    if (!stream || typeof stream[Symbol.asyncIterator] !== 'function') throw new NotStreamingError();
    this.events = stream[Symbol.asyncIterator]();
  }

  /**
   * The next event, or undefined when Kinesis ended the subscription. Throws an error event as its exception.
   * The first event must come within subscribeTimeoutMs (Kinesis sends it at once: an answer followed by
   * silence is a connection that died after the headers); each later one within idleTimeoutMs.
   */
  async next(): Promise<SubscribeToShardEvent | undefined> {
    const events = this.events;
    if (!events) throw new Error('ShardSubscription.next() before open()');
    const { shardId } = this.request;
    const result = this.eventSeen
      ? await this.within(
          this.idleTimeoutMs,
          events.next(),
          () =>
            new SubscriptionIdleError(
              `no event from SubscribeToShard on ${shardId} for ${this.idleTimeoutMs} ms; cancelling the subscription`,
            ),
        )
      : await this.within(
          this.subscribeTimeoutMs,
          events.next(),
          () =>
            new SubscribeTimeoutError(
              `SubscribeToShard on ${shardId} answered but sent no event within ${this.subscribeTimeoutMs} ms (retrieval.subscribeTimeoutMs); cancelling the subscription`,
            ),
        );
    this.eventSeen = true;
    if (result.done) return undefined;
    const event = result.value;
    if (event.SubscribeToShardEvent) return event.SubscribeToShardEvent;
    throw errorEventOf(event);
  }

  private get idleTimeoutMs(): number {
    return this.request.idleTimeoutMs ?? SUBSCRIPTION_IDLE_TIMEOUT_MS;
  }

  private get subscribeTimeoutMs(): number {
    return this.request.subscribeTimeoutMs ?? SUBSCRIBE_TIMEOUT_MS;
  }

  /**
   * `work`, or the timeout's error after `ms`: the subscription is then cancelled (the HTTP request
   * aborted, which closes its connection or HTTP/2 session), and the late outcome of `work` ignored.
   */
  private async within<T>(ms: number, work: Promise<T>, timeoutError: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(timeoutError());
        this.close();
      }, ms);
    });
    work.catch(() => undefined);
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Cancels the HTTP request (the socket or HTTP/2 stream is closed); idempotent. */
  close(): void {
    this.unlink();
    this.cancel.abort();
    // The iterator may be waiting for bytes; its rejection after the abort is expected.
    this.events?.return?.().catch(() => undefined);
  }
}

/** An error member of the event stream (the SDK usually throws these itself), as an error of that name. */
function errorEventOf(event: SubscribeToShardEventStream): Error {
  const [name, detail] = Object.entries<unknown>({ ...event }).find(([, value]) => value !== undefined) ?? ['UnknownEvent', undefined];
  const error = new Error((detail as { message?: string } | undefined)?.message ?? `SubscribeToShard sent ${name}`);
  error.name = name;
  return error;
}
