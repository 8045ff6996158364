// Which suites depend on the Node and Nest version they run on. CI runs every suite once, on the
// newest supported Node, and on the other runtimes only what depends on the runtime (TEST_SCOPE=runtime):
// the Nest module and lifecycle, ESM/CJS loading, the package as installed, the native engine's code
// paths. The suites below exercise Java (the kcl engine, KCL interop, the KCL 3.x fleet) or long fault
// scenarios whose outcome is decided by timers and emulators, not by the runtime.
'use strict';

const runtimeIndependentSuites = [
  '/test/e2e/kcl-[^/]*\\.e2e-spec\\.ts$',
  '/test/e2e/kcl3-[^/]*\\.e2e-spec\\.ts$',
  '/test/e2e/kcl35-[^/]*\\.e2e-spec\\.ts$',
  '/test/e2e/fanout-kcl\\.e2e-spec\\.ts$',
  '/test/e2e/engines\\.e2e-spec\\.ts$',
  '/test/e2e/leases-dead-java-parent\\.e2e-spec\\.ts$',
  '/test/e2e/chaos\\.e2e-spec\\.ts$',
  '/test/e2e/partition-[^/]*\\.e2e-spec\\.ts$',
  '/test/e2e/[^/]*-faults\\.e2e-spec\\.ts$',
  '/test/e2e/retrieval-kinesis-restart\\.e2e-spec\\.ts$',
];

module.exports = { runtimeIndependentSuites };
