// The jest environment of every suite: Node's, pointed at this jest worker's own emulators and
// temporary folder (see global-setup.ts). Set on the worker's real process.env, which os.tmpdir() and
// every spawned process read, and on the copy jest gives the suite as process.env.
// Plain JavaScript: jest loads the environment before any transform.
'use strict';
const { TestEnvironment } = require('jest-environment-node');

class WorkerEnvironment extends TestEnvironment {
  constructor(config, context) {
    const own = ownEmulators();
    if (own) Object.assign(process.env, own);
    super(config, context);
    if (own) Object.assign(this.global.process.env, own);
  }
}

function ownEmulators() {
  const sets = process.env.TEST_WORKER_EMULATORS;
  if (!sets) return undefined;
  const all = JSON.parse(sets);
  const index = Number(process.env.JEST_WORKER_ID ?? '1') - 1;
  const set = all[index];
  if (!set) throw new Error(`jest worker ${process.env.JEST_WORKER_ID} has no emulators: global-setup started ${all.length} sets`);
  return {
    TEST_KINESIS_ENDPOINT: set.kinesis,
    TEST_DYNAMODB_ENDPOINT: set.dynamodb,
    TEST_KINESIS_TLS_PORT: String(set.kinesisTlsPort),
    TMPDIR: set.tmpdir,
  };
}

module.exports = WorkerEnvironment;
