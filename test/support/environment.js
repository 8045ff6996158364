// The jest environment of every suite: Node's, pointed at this jest worker's own emulators and
// temporary folder (see global-setup.ts). Set on the worker's real process.env, which os.tmpdir() and
// every spawned process read, and on the copy jest gives the suite as process.env.
// Plain JavaScript: jest loads the environment before any transform.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

class WorkerEnvironment extends TestEnvironment {
  constructor(config, context) {
    const own = ownEmulators();
    if (own) Object.assign(process.env, own);
    super(config, context);
    if (own) Object.assign(this.global.process.env, own);
    this.testPath = context.testPath;
  }

  async setup() {
    this.cpuAtStart = cpuSeconds();
    await super.setup();
  }

  // The suite's CPU: this jest worker's own and that of the children it reaped (worker processes, JVMs,
  // the CLI...), for the slowest-suites reporter. The emulators are the main process's children: not in it.
  async teardown() {
    await super.teardown();
    const end = cpuSeconds();
    const dir = process.env.TEST_CPU_DIR;
    if (dir && end !== undefined && this.cpuAtStart !== undefined) {
      const name = `${process.pid}-${path.basename(this.testPath)}.json`;
      fs.writeFileSync(path.join(dir, name), JSON.stringify({ path: this.testPath, seconds: end - this.cpuAtStart }));
    }
  }
}

/** utime + stime + cutime + cstime of this process from /proc (Linux); undefined elsewhere. */
function cpuSeconds() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5), counted from the state (field 3) at index 0; clock ticks of 1/100 s.
    return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
  } catch {
    return undefined;
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
