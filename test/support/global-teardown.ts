import type { LocalEmulators } from '../../lib/testing';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __emulators?: LocalEmulators }).__emulators?.stop();
}
