import { withLogFields, type LogFields, type WorkerLogger } from '../../../lib/core/logger';

type Line = [level: string, message: string, fields: LogFields | undefined, stack?: string];

function recording(withDebug: boolean): { logger: WorkerLogger; lines: Line[] } {
  const lines: Line[] = [];
  const logger: WorkerLogger = {
    log: (message, fields) => void lines.push(['log', message, fields]),
    warn: (message, fields) => void lines.push(['warn', message, fields]),
    error: (message, stack, fields) => void lines.push(['error', message, fields, stack]),
  };
  if (withDebug) logger.debug = (message, fields) => void lines.push(['debug', message, fields]);
  return { logger, lines };
}

describe('withLogFields', () => {
  it('adds the bound fields to every level, the stack of an error kept in its place', () => {
    const { logger, lines } = recording(true);
    const scoped = withLogFields(logger, { app: 'orders', worker: 'w1', stream: 's' });
    scoped.log('a');
    scoped.warn('b');
    scoped.error('c', 'Error: x\n    at y');
    scoped.debug!('d');
    const fields = { app: 'orders', worker: 'w1', stream: 's' };
    expect(lines).toEqual([
      ['log', 'a', fields],
      ['warn', 'b', fields],
      ['error', 'c', fields, 'Error: x\n    at y'],
      ['debug', 'd', fields],
    ]);
  });

  it('scopes nest: a shard logger of a stream logger of the worker logger names all four, and a line adds its own', () => {
    const { logger, lines } = recording(false);
    const worker = withLogFields(logger, { app: 'orders', worker: 'w1', stream: undefined });
    const shard = withLogFields(withLogFields(worker, { stream: 's' }), { shard: 'shardId-000000000001' });
    shard.log('one');
    worker.warn('two', { shard: 'shardId-000000000002' });
    expect(lines).toEqual([
      ['log', 'one', { app: 'orders', worker: 'w1', stream: 's', shard: 'shardId-000000000001' }],
      // An undefined binding is left out, not written as a field set to undefined.
      ['warn', 'two', { app: 'orders', worker: 'w1', shard: 'shardId-000000000002' }],
    ]);
    expect(Object.keys(lines[1][2]!)).not.toContain('stream');
  });

  it('has no debug when the logger has none, so the engine skips building debug lines', () => {
    const { logger } = recording(false);
    expect(withLogFields(logger, { app: 'a' })).not.toHaveProperty('debug');
  });
});
