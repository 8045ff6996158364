/* eslint-disable @typescript-eslint/require-await -- stubbed DynamoDB sends answer at once */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CpuUtilisation } from '../../../../../lib/engines/native/kcl3/cpu-utilisation';
import { waitFor } from '../../../../support/wait-for';
import { PERSISTED_SAMPLES, WorkerMetricsReporter } from '../../../../../lib/engines/native/kcl3/worker-metrics-reporter';

const awsError = (name: string) => Object.assign(new Error(name), { name });

function reporterWith(
  send: (input: Record<string, unknown>, options?: { abortSignal?: AbortSignal }) => Promise<unknown>,
  intervalMs = 60_000,
) {
  const warn = jest.fn();
  const log = jest.fn();
  let sample = 0;
  const cpu = { sample: () => ++sample } as unknown as CpuUtilisation;
  const client = {
    send: (command: { input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => send(command.input, options),
  } as unknown as DynamoDBClient;
  const reporter = new WorkerMetricsReporter(
    client,
    { workerId: 'w1', tableName: 'app-WorkerMetricStats', intervalMs },
    { log, warn, error: jest.fn() },
    cpu,
  );
  return { reporter, warn, log };
}

describe('WorkerMetricsReporter', () => {
  it('writes the item as the Java reporter does: wid, lut in epoch seconds, the last samples per metric, the operating range', async () => {
    const items: Record<string, unknown>[] = [];
    const { reporter } = reporterWith(async (input) => void items.push(input));
    for (let i = 0; i < PERSISTED_SAMPLES + 2; i++) await reporter.report();
    const last = items.at(-1) as { TableName: string; Item: Record<string, any> };
    expect(last.TableName).toBe('app-WorkerMetricStats');
    expect(last.Item.wid).toEqual({ S: 'w1' });
    expect(Math.abs(Number(last.Item.lut.N) - Date.now() / 1000)).toBeLessThan(5);
    expect(last.Item.sts.M.CPU.L.map((v: { N: string }) => Number(v.N))).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(last.Item.opr).toEqual({ M: { CPU: { L: [{ N: '100' }] } } });
    expect(reporter.lastReportedAt).toBeDefined();
  });

  it('a failing write (missing table, throttling) is logged with its fix, once and then every tenth time, and does not throw', async () => {
    let error = awsError('ResourceNotFoundException');
    const { reporter, warn, log } = reporterWith(async () => {
      throw error;
    });
    for (let i = 0; i < 10; i++) await reporter.report();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0][0]).toMatch(
      /Could not write the worker metrics of w1 to app-WorkerMetricStats .*ResourceNotFoundException.*could not be created.*dynamodb:CreateTable.*workerMetricsTableName/,
    );
    error = awsError('ProvisionedThroughputExceededException');
    await reporter.report();
    expect(reporter.lastReportedAt).toBeUndefined();
    void log;
  });

  it('a missing table is created as the Java KCL creates it (wid, on-demand), once; the next report writes into it; a table being created by another worker is no error', async () => {
    const requests: Record<string, unknown>[] = [];
    let exists = false;
    const { reporter, warn, log } = reporterWith(async (input) => {
      requests.push(input);
      if ('KeySchema' in input) {
        if (exists) throw awsError('ResourceInUseException');
        exists = true;
        return {};
      }
      if (!exists) throw awsError('ResourceNotFoundException');
      return {};
    });
    await reporter.report();
    expect(requests[1]).toEqual({
      TableName: 'app-WorkerMetricStats',
      AttributeDefinitions: [{ AttributeName: 'wid', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'wid', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/Created the KCL 3.x worker metrics table app-WorkerMetricStats/));
    await reporter.report();
    expect(reporter.lastReportedAt).toBeDefined();
    expect(warn).not.toHaveBeenCalled();
  });

  it('a hung write is cut off after one interval and retried at the next report', async () => {
    const calls: AbortSignal[] = [];
    const { reporter, warn } = reporterWith(
      (_input, options) =>
        new Promise((_resolve, reject) => {
          calls.push(options!.abortSignal!);
          options!.abortSignal!.addEventListener('abort', () => reject(awsError('AbortError')));
        }),
      100,
    );
    await reporter.report();
    expect(calls[0].aborted).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('AbortError'));
  });

  it('start() reports at once and on its timer; stop() ends the timer', async () => {
    const items: unknown[] = [];
    const { reporter } = reporterWith(async (input) => void items.push(input), 20);
    await reporter.start();
    expect(items).toHaveLength(1);
    await waitFor(() => items.length >= 3, 'two reports on the timer');
    await reporter.stop();
    const count = items.length;
    // Negative check: no event marks "the timer would have fired"; 5 periods without a report is the proof.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(items).toHaveLength(count);
  });

  it('withdraw() at a graceful stop: the last write finishes, then the own item is deleted; nothing when it never reported', async () => {
    const inputs: Record<string, unknown>[] = [];
    const { reporter } = reporterWith(async (input) => void inputs.push(input), 60_000);
    await reporter.withdraw();
    expect(inputs).toEqual([]);
    await reporter.start();
    await reporter.withdraw();
    expect(inputs.at(-1)).toEqual({ TableName: 'app-WorkerMetricStats', Key: { wid: { S: 'w1' } } });
    expect(reporter.running).toBe(false);
  });

  it('a failed withdraw only warns', async () => {
    const { reporter, warn } = reporterWith(async (input) => {
      if (!('Item' in input)) throw awsError('AccessDeniedException');
    });
    await reporter.start();
    await expect(reporter.withdraw()).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Could not delete the worker metrics of w1'));
  });
});
