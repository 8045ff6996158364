import type { ExtendedSequenceNumber } from '../../core/record';
import { loadAwsKcl } from './aws-kcl-module';

/*
 * How this engine drives aws-kcl 2.3.2. aws-kcl has no type declarations: what follows is the part of
 * it the engine uses, internals included (see patchCheckpointMessage).
 */

/** aws-kcl's callback that answers the daemon's action with a status message. */
export type Done = () => void;

/** A record as the MultiLangDaemon sends it. */
export interface KclInputRecord {
  data: string;
  partitionKey: string;
  sequenceNumber: string;
  subSequenceNumber?: number | null;
  approximateArrivalTimestamp?: number | null;
}

export interface KclInitializeInput {
  shardId: string;
  sequenceNumber?: string | null;
  subSequenceNumber?: number | null;
}

export interface KclProcessRecordsInput {
  records?: KclInputRecord[];
  millisBehindLatest?: number | null;
}

/** The record processor aws-kcl calls, one method per daemon action. */
export interface KclAdapter {
  initialize(input: KclInitializeInput, done: Done): void;
  processRecords(input: KclProcessRecordsInput, done: Done): void;
  leaseLost(input: unknown, done: Done): void;
  shardEnded(input: unknown, done: Done): void;
  shutdownRequested(input: unknown, done: Done): void;
}

/** Sends a checkpoint request (null: SHARD_END) and calls back with the daemon's answer: an exception name, or nothing. */
export type KclCheckpointRequest = (position: ExtendedSequenceNumber | null, callback: (error: string | null | undefined) => void) => void;

interface KclCheckpointerHandle {
  checkpoint(position: unknown, callback: (error: string | null | undefined, sequenceNumber?: string) => void): void;
}
interface KclManager {
  checkpoint(position: unknown): void;
  _sendAction(context: unknown, action: object): void;
  _context: { checkpointer: KclCheckpointerHandle };
}
type KclFunction = (
  processor: KclAdapter,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  error: NodeJS.WritableStream,
) => { run(): void; cleanup(): void; _kclManager?: KclManager };

export interface KclProtocolStreams {
  /** The daemon's lines, one JSON action each. */
  readonly input: NodeJS.ReadableStream;
  /** Where aws-kcl writes its answers to the daemon. */
  readonly output: NodeJS.WritableStream;
  /** aws-kcl's own error messages. */
  readonly error: NodeJS.WritableStream;
}

/**
 * Makes aws-kcl speak the MultiLangDaemon protocol over the given streams, calling `adapter` for each
 * action; returns the way to send checkpoint requests. Throws a KinesisWorkerConfigError on `engine`
 * when aws-kcl is not installed.
 */
export function runKclProtocol(adapter: KclAdapter, streams: KclProtocolStreams): KclCheckpointRequest {
  const kcl = loadAwsKcl<KclFunction>();
  const process = kcl(adapter, streams.input, streams.output, streams.error);
  const handle = patchCheckpointMessage(process._kclManager);
  process.run();
  return (position, callback) => handle.checkpoint(position, (error) => callback(error));
}

/**
 * aws-kcl 2.3.2 sends a checkpoint request with a sequence number only; the protocol also takes a
 * sub-sequence number. The checkpointer handle is given { sequenceNumber, subSequenceNumber } (or
 * null for SHARD_END) and the manager writes both fields.
 */
function patchCheckpointMessage(manager: KclManager | undefined): KclCheckpointerHandle {
  if (!manager || typeof manager._sendAction !== 'function' || !manager._context?.checkpointer) {
    throw new Error('aws-kcl does not have the internals this engine was written for (version 2.3.2 expected).');
  }
  manager.checkpoint = (position: unknown) => {
    const p = position as ExtendedSequenceNumber | null;
    manager._sendAction(manager._context, {
      action: 'checkpoint',
      sequenceNumber: p ? p.sequenceNumber : null,
      ...(p ? { subSequenceNumber: p.subSequenceNumber } : {}),
    });
  };
  return manager._context.checkpointer;
}
