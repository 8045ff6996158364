/** Baseline for start-up: a bare SDK process that reads the stream and reports its first record's time. */
import { bareLoop } from './bare-loop';
import { kinesisClientFor } from './setup';

const [endpoint, stream] = process.argv.slice(2) as [string, string];
const kinesis = kinesisClientFor(endpoint);
let done = false;
void bareLoop(kinesis, stream, {
  maxRecords: 10_000,
  idleMs: 100,
  onRecords: () => {
    if (done) return;
    done = true;
    process.send?.({ at: Date.now() });
  },
  until: () => done,
});
