// The test run: every suite (unit and end-to-end) in parallel jest workers, each worker with its own
// emulators and temporary folder (test/support/global-setup.ts, environment.js). Most of an e2e
// suite's time is waiting (lease expiry, failover timers, a JVM starting), not CPU, so a 2-core
// machine runs more workers than it has cores. TEST_WORKERS overrides the count; TEST_SCOPE=runtime
// leaves out the suites that do not depend on the Node or Nest version (CONTRIBUTING.md).
'use strict';
const { runtimeIndependentSuites } = require('./test/support/suite-scope');

const scope = process.env.TEST_SCOPE ?? 'all';
if (scope !== 'all' && scope !== 'runtime') throw new Error(`TEST_SCOPE=${scope}: use 'all' (the default) or 'runtime'`);

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/environment.js',
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', ...(scope === 'runtime' ? runtimeIndependentSuites : [])],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // The package's entry points by the names a user imports (as tsconfig.json's paths): the specs written
  // only against the public API (docs/testing.md's recipes) import them so.
  moduleNameMapper: {
    '^nestjs-kinesis-worker$': '<rootDir>/lib/index.ts',
    '^nestjs-kinesis-worker/standalone$': '<rootDir>/lib/standalone.ts',
    '^nestjs-kinesis-worker/(health|testing|testing/nest)$': '<rootDir>/lib/$1/index.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['reflect-metadata', '<rootDir>/test/support/env.ts'],
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  reporters: ['default', '<rootDir>/test/support/slowest-suites-reporter.js'],
  testTimeout: 120_000,
  maxWorkers: Number(process.env.TEST_WORKERS ?? 5),
};
