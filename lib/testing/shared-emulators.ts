import { startLocalEmulators, type LocalEmulators } from './local-emulators';
import { processWide } from './process-wide';

/** Where the process keeps its shared emulators (process-wide.ts): a module-level variable would start a set per spec file. */
const REGISTRY = Symbol.for('nestjs-kinesis-worker/testing/shared-emulators');
type Holder = { [REGISTRY]?: Promise<LocalEmulators> };

/**
 * The emulators of this process (one set per jest worker), started on the first call on free loopback
 * ports and shared by every later call: kinesis-local in a child process that ends with this process,
 * dynalite in this process. Neither keeps the process alive, and stop() is a no-op: the set lives as
 * long as the process. Tests that share it use their own stream and application names.
 */
export function sharedEmulators(): Promise<LocalEmulators> {
  const holder = processWide as Holder;
  const existing = holder[REGISTRY];
  if (existing) return existing;
  const starting = start();
  holder[REGISTRY] = starting;
  // A failed start is not cached: the next call tries again (and reports its own error).
  starting.catch(() => {
    if (holder[REGISTRY] === starting) delete holder[REGISTRY];
  });
  return starting;
}

async function start(): Promise<LocalEmulators> {
  const emulators = await startLocalEmulators({ exitWithParent: true, unref: true });
  return { ...emulators, stop: () => Promise.resolve() };
}
