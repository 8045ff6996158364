import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { startLocalEmulators } from '../lib/testing';
import type { BenchRow } from './lib/stats';
import { failoverBenchmarks } from './scenarios/failover';
import { latencyBenchmarks } from './scenarios/latency';
import { memoryBenchmarks } from './scenarios/memory';
import { startupBenchmarks } from './scenarios/startup';
import { throughputBenchmarks } from './scenarios/throughput';
import { frameBenchmarks, wireFormatBenchmarks } from './scenarios/frame';
import { loadLatencyBenchmarks } from './scenarios/load-latency';
import { soakBenchmarks } from './scenarios/soak';
import { fanoutLatencyBenchmarks } from './scenarios/fanout-latency';
import { concurrencyBenchmarks } from './scenarios/concurrency';
import { javaPeerBenchmarks } from './scenarios/java-peer';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SCENARIOS: Record<string, (emulators: Awaited<ReturnType<typeof startLocalEmulators>>) => Promise<BenchRow[]>> = {
  throughput: throughputBenchmarks,
  latency: latencyBenchmarks,
  memory: memoryBenchmarks,
  failover: failoverBenchmarks,
  'start-up': startupBenchmarks,
  frame: () => frameBenchmarks(),
  'wire-format': () => wireFormatBenchmarks(),
  'latency-under-load': () => loadLatencyBenchmarks(),
  soak: () => soakBenchmarks(),
  'fanout-latency': fanoutLatencyBenchmarks,
  concurrency: concurrencyBenchmarks,
  'java-peer': () => javaPeerBenchmarks(),
};

function format(value: number | undefined, digits = 2): string {
  if (value === undefined || Number.isNaN(value)) return '';
  return value >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

async function main() {
  const only = process.argv.slice(2);
  const emulators = await startLocalEmulators();
  const rows: BenchRow[] = [];
  let failed = false;
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      if (only.length > 0 && !only.includes(name)) continue;
      console.error(`running ${name}...`);
      const startedAt = Date.now();
      try {
        rows.push(...(await scenario(emulators)));
        console.error(`${name} took ${Math.round((Date.now() - startedAt) / 1000)} s`);
      } catch (error) {
        // One broken scenario must not throw away the figures of the others.
        console.error(`${name} failed:`, error);
        rows.push({ group: name, name: `FAILED: ${String(error).slice(0, 200)}`, value: NaN, unit: '' });
        failed = true;
      }
    }
  } finally {
    await emulators.stop();
  }
  const table = [
    '| group | measure | value | baseline (same run) | ratio | target | met | note |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.group} | ${r.name} | ${format(r.value)} ${r.unit} | ${r.baseline !== undefined ? `${format(r.baseline)} ${r.unit} (${r.baselineName})` : ''} | ${format(r.ratio)} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : 'NO'} | ${r.note ?? ''} |`,
    ),
  ].join('\n');
  console.log(table);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const report = { at: new Date().toISOString(), node: process.version, cpus: cpus().length, rows };
  writeFileSync(join(dir, `bench-${report.at.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(dir, 'latest.md'), `${table}\n`);
  if (failed) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
