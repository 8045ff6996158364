import { rmSync } from 'node:fs';
import type { LocalEmulators } from '../../lib/testing';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis as { __emulators?: LocalEmulators[]; __testRoot?: string };
  await Promise.all((state.__emulators ?? []).map((emulators) => emulators.stop()));
  if (state.__testRoot) rmSync(state.__testRoot, { recursive: true, force: true });
}
