// `import = require` keeps Node's os module itself: `import * as os` compiles (esModuleInterop) to a copy
// of it made in each module registry, and jest loads this package once per spec file.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself is the point (above)
import os = require('node:os');

/**
 * Where the testing helpers keep what every spec file of a process (a jest worker) must share: the
 * emulators, the stream names in use. Jest gives each spec file its own globals, `process` object and
 * module registry, but hands Node's core modules through as they are, so their objects are the
 * process's own in every spec file; keys are global symbols (Symbol.for), the same in every registry.
 */
export const processWide = os as unknown as Record<symbol, unknown>;
