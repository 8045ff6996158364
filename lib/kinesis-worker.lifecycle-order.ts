import type { InjectionToken } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';

/**
 * Nest calls the lifecycle hooks module by module, sorted by the module's distance from the root:
 * onModuleInit and onApplicationBootstrap from the largest distance down, onModuleDestroy,
 * beforeApplicationShutdown and onApplicationShutdown from the smallest up. A global module gets
 * distance Number.MAX_VALUE, so it bootstraps first and is destroyed last: a global
 * KinesisWorkerModule would drain its workers only after the feature modules had closed the pools
 * and clients the processors use, and its workers would start before those modules bootstrapped.
 *
 * The opposite extreme gives the order a consumer needs: the workers start once every other
 * provider has bootstrapped, and they drain (last batches, shutdown(REQUESTED), final checkpoints)
 * before any other provider's onModuleDestroy runs. Nest reads the distances when the application
 * initialises, so this must run while the providers are being instantiated.
 */
export const KINESIS_MODULE_DISTANCE = -Number.MAX_VALUE;

/**
 * Moves the module(s) that provide `provider` to KINESIS_MODULE_DISTANCE. Returns false when no
 * module was found or Nest no longer orders modules by distance, so the caller can say so.
 */
export function runHooksOutermost(modules: ModulesContainer, provider: InjectionToken): boolean {
  let moved = false;
  for (const module of modules.values()) {
    if (!module.providers.has(provider) || typeof module.distance !== 'number') continue;
    module.distance = KINESIS_MODULE_DISTANCE;
    moved = true;
  }
  return moved;
}
