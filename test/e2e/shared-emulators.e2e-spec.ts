import { spawn } from 'node:child_process';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { join, resolve } from 'node:path';
import { localDynamoDbClient, startLocalEmulators } from '../../lib/testing';
import { waitFor } from '../support/wait-for';
import { compiledScript } from '../support/compiled-scripts';

/**
 * The emulators sharedEmulators() keeps for every spec file of a jest worker: both in child processes
 * (a server inside one spec file's jest environment stops answering once that file is torn down), which
 * end with the process that started them, however it ends, and do not keep it alive.
 */

const ROOT = resolve(__dirname, '../..');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startLocalEmulators({ exitWithParent: true }): kinesis-local and dynalite in child processes', () => {
  it('both answer from child processes, and stop() ends them', async () => {
    const emulators = await startLocalEmulators({ exitWithParent: true, unref: true });
    const dynamodb = localDynamoDbClient(emulators);
    try {
      expect(emulators.dynamodb.pid).toEqual(expect.any(Number));
      expect(emulators.dynamodb.pid).not.toBe(process.pid);
      expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      dynamodb.destroy();
      await emulators.stop();
    }
    expect([alive(emulators.kinesis.pid), alive(emulators.dynamodb.pid!)]).toEqual([false, false]);
  });

  it('a parent killed with SIGKILL takes both emulators with it; a parent that is done exits although they run', async () => {
    const script = `
      const { startLocalEmulators } = require(${JSON.stringify(compiledScript(join(ROOT, 'lib/testing/index.ts')))});
      startLocalEmulators({ exitWithParent: true, unref: true }).then((e) => {
        process.stdout.write(JSON.stringify({ kinesis: e.kinesis.pid, dynamodb: e.dynamodb.pid }) + '\\n');
        if (process.argv[1] === 'hang') setInterval(() => undefined, 1000);
      });`;
    const start = (mode: string) => {
      const child = spawn(process.execPath, ['--enable-source-maps', '-e', script, mode], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const pids = new Promise<{ kinesis: number; dynamodb: number }>((done) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) done(JSON.parse(out.split('\n')[0]) as { kinesis: number; dynamodb: number });
        });
      });
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      return { child, pids, exited };
    };

    const killed = start('hang');
    const killedPids = await killed.pids;
    expect([alive(killedPids.kinesis), alive(killedPids.dynamodb)]).toEqual([true, true]);
    killed.child.kill('SIGKILL');
    await waitFor(
      () => !alive(killedPids.kinesis) && !alive(killedPids.dynamodb),
      'both emulators to end with their killed parent',
      20_000,
    );

    const done = start('exit');
    const donePids = await done.pids;
    await done.exited; // the emulators do not keep it alive
    await waitFor(() => !alive(donePids.kinesis) && !alive(donePids.dynamodb), 'both emulators to end with their parent', 20_000);
  }, 90_000);
});
