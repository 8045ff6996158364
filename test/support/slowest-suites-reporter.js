// Prints the slowest suites of the run at its end, so that the next person sees where the time goes.
// With TEST_RECORD_DURATIONS=1 it also rewrites suite-durations.json, which orders a fresh clone's run
// (slow-first-sequencer.js). Plain JavaScript: jest loads reporters before any transform.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

class SlowestSuitesReporter {
  constructor(globalConfig, options = {}) {
    this.rootDir = globalConfig.rootDir;
    this.count = options.count ?? 10;
  }

  onRunComplete(_contexts, results) {
    const suites = results.testResults
      .map((r) => ({ path: path.relative(this.rootDir, r.testFilePath), seconds: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .sort((a, b) => b.seconds - a.seconds);
    if (suites.length === 0) return;
    const wall = (Date.now() - results.startTime) / 1000;
    const lines = suites.slice(0, this.count).map((s) => `  ${s.seconds.toFixed(1).padStart(7)} s  ${s.path}`);
    process.stderr.write(
      `\nThe ${Math.min(this.count, suites.length)} slowest suites (the run: ${wall.toFixed(0)} s wall time):\n${lines.join('\n')}\n`,
    );
    this.printCpu();
    if (process.env.TEST_RECORD_DURATIONS === '1' && results.numFailedTestSuites === 0) {
      const durations = Object.fromEntries(suites.map((s) => [s.path, Math.round(s.seconds * 10) / 10]));
      fs.writeFileSync(path.join(__dirname, 'suite-durations.json'), `${JSON.stringify(durations, null, 2)}\n`);
    }
  }
}

SlowestSuitesReporter.prototype.printCpu = function printCpu() {
  // Written by environment.js per suite: the jest worker's CPU and its reaped children's (Linux only).
  const dir = process.env.TEST_CPU_DIR;
  if (!dir || !fs.existsSync(dir)) return;
  const suites = fs
    .readdirSync(dir)
    .map((name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')))
    .sort((a, b) => b.seconds - a.seconds);
  if (suites.length === 0) return;
  const total = suites.reduce((sum, s) => sum + s.seconds, 0);
  const lines = suites.slice(0, this.count).map((s) => `  ${s.seconds.toFixed(1).padStart(7)} s  ${path.relative(this.rootDir, s.path)}`);
  process.stderr.write(
    `The ${lines.length} suites using the most CPU (their jest worker and its children; all suites: ${total.toFixed(0)} s, emulators not counted):\n${lines.join('\n')}\n`,
  );
};

module.exports = SlowestSuitesReporter;
