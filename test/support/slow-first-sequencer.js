// Longest suites first, so that no long suite starts last and keeps one worker busy while the others
// idle. Jest's own sequencer does this from its cache of the last run's durations; a fresh clone (CI)
// has no cache, so the durations measured on a full run (suite-durations.json, seconds per suite,
// rewritten by `TEST_RECORD_DURATIONS=1 npm test`) stand in for it. Plain JavaScript: jest loads the
// sequencer before any transform.
'use strict';
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const measured = require('./suite-durations.json');

class SlowFirstSequencer extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    const seconds = measured[path.relative(test.context.config.rootDir, test.path)];
    return seconds == null ? undefined : seconds * 1000;
  }
}

module.exports = SlowFirstSequencer;
