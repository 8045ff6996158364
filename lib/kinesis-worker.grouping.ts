import { KinesisWorkerConfigError } from './core/errors';
import type { StreamWorkerOptions } from './core/options';
import type { ProcessorFactory } from './core/processor';
import type { WorkerEventListener } from './core/worker';

/** One @KinesisProcessor class with its merged options (streamName set) and its per-shard factory. */
export interface ProcessorEntry {
  readonly processorName: string;
  readonly tableName: string;
  readonly options: StreamWorkerOptions & { streamName: string };
  readonly createProcessor: ProcessorFactory;
}

/** What one worker needs: the processors it serves, its options and the factory that routes each shard. */
export interface ProcessorBinding {
  readonly processorName: string;
  readonly options: StreamWorkerOptions;
  readonly createProcessor: ProcessorFactory;
}

/** Options that may differ between the processors of one application: each stream keeps its own. */
const PER_STREAM = new Set<string>(['streamName', 'onEvent']);

/**
 * One worker per lease table: processors of one appName (or tableName) share one worker and one lease
 * table. Two or more need the option multiStream: true (the multi-stream lease format, which a
 * single-stream table cannot hold), and each shard's processor is chosen by its stream. A lone
 * processor keeps the single-stream format unless multiStream is true. The processors of one worker must
 * agree on its options (one worker has one failover time, one position...), and no two may read one stream.
 */
export function groupByLeaseTable(entries: readonly ProcessorEntry[]): ProcessorBinding[] {
  const groups = new Map<string, ProcessorEntry[]>();
  for (const entry of entries) groups.set(entry.tableName, [...(groups.get(entry.tableName) ?? []), entry]);
  return [...groups.values()].map((group) => (group.length === 1 ? single(group[0]) : multiStream(group)));
}

function single(entry: ProcessorEntry): ProcessorBinding {
  return { processorName: entry.processorName, options: entry.options, createProcessor: entry.createProcessor };
}

function multiStream(group: readonly ProcessorEntry[]): ProcessorBinding {
  const [first] = group as [ProcessorEntry, ...ProcessorEntry[]];
  const byStream = new Map<string, ProcessorEntry>();
  for (const entry of group) {
    const clash = byStream.get(entry.options.streamName);
    if (clash) {
      throw new KinesisWorkerConfigError(
        'stream',
        `${clash.processorName} and ${entry.processorName} both consume '${entry.options.streamName}' in the application of lease table '${entry.tableName}': one application reads a stream once. ` +
          `Handle the stream in one processor, or give one of them its own appName (a second application reading the same stream).`,
      );
    }
    byStream.set(entry.options.streamName, entry);
  }
  if (group.some((entry) => entry.options.multiStream !== true)) {
    const names = group.map((entry) => `${entry.processorName} (stream '${entry.options.streamName}')`);
    throw new KinesisWorkerConfigError(
      'multiStream',
      `${names.slice(0, -1).join(', ')} and ${names.at(-1)} share the lease table '${first.tableName}' (one appName or tableName), so they would run in one worker of several streams, ` +
        `in the multi-stream lease format; a table written by an application of one stream (single-stream format) cannot hold that, and such a worker fails at start. ` +
        `Set multiStream: true in KinesisWorkerModule.forRoot to say this table holds several streams (a new table, or one already in the multi-stream format), ` +
        `or give each processor its own appName: @KinesisProcessor({ stream, appName }).`,
    );
  }
  for (const entry of group) {
    for (const option of differingOptions(first.options, entry.options)) {
      throw new KinesisWorkerConfigError(
        option,
        `${first.processorName} and ${entry.processorName} share the lease table '${entry.tableName}', so they run in one worker, but set ${option} differently. ` +
          `Set ${option} once in KinesisWorkerModule.forRoot (or equally on both), or give one of them its own appName.`,
      );
    }
  }
  const listeners = new Map(group.map((entry) => [entry.options.streamName, entry.options.onEvent]));
  const onEvent: WorkerEventListener | undefined = [...listeners.values()].some((listener) => listener !== undefined)
    ? (event) => listeners.get(event.streamName)?.(event)
    : undefined;
  const { streamName: _oneStream, ...shared } = first.options;
  return {
    processorName: group.map((entry) => entry.processorName).join(', '),
    options: { ...shared, streams: group.map((entry) => entry.options.streamName), onEvent },
    createProcessor: (shard) => {
      const entry = byStream.get(shard.streamName);
      if (!entry)
        throw new Error(
          `No @KinesisProcessor consumes '${shard.streamName}' (shard ${shard.shardId}); the worker was given streams ${[...byStream.keys()].join(', ')}.`,
        );
      return entry.createProcessor(shard);
    },
  };
}

function differingOptions(a: StreamWorkerOptions, b: StreamWorkerOptions): string[] {
  const left: Record<string, unknown> = { ...a };
  const right: Record<string, unknown> = { ...b };
  const keys = new Set([...Object.keys(left), ...Object.keys(right)].filter((key) => !PER_STREAM.has(key)));
  return [...keys].filter((key) => !sameValue(left[key], right[key]));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
