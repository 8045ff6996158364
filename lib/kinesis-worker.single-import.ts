import type { InjectionToken } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { Module } from '@nestjs/core/injector/module';
import { KinesisWorkerConfigError } from './core/errors';

/** MODULE_METADATA.IMPORTS of @nestjs/common: where @Module({ imports }) keeps the list. */
const IMPORTS = 'imports';

/**
 * Each KinesisWorkerModule.forRoot() / forRootAsync() import is a module of its own, with its own
 * registrar, and every registrar binds every @KinesisProcessor of the application (discovery is
 * app-wide): two imports would consume every shard twice, with one import's options applied to the
 * processors of the other. Throws, naming the modules that import it, when the application holds more
 * than one. The same dynamic module object imported in two places is one module, and passes.
 * The module instances are the ones providing `registrar` (the module class itself would be an import cycle).
 */
export function assertImportedOnce(modules: ModulesContainer, registrar: InjectionToken): void {
  const instances = [...modules.values()].filter((module) => module.providers.has(registrar));
  if (instances.length <= 1) return;
  const moduleClasses = new Set<unknown>(instances.map((module) => module.metatype));
  const importers = [...modules.values()]
    .filter((module) => !moduleClasses.has(module.metatype) && declaredImports(module).some((item) => importsOneOf(item, moduleClasses)))
    .map((module) => module.name);
  const by = importers.length > 0 ? `, by ${listed(importers)}` : '';
  throw new KinesisWorkerConfigError(
    'KinesisWorkerModule.forRoot',
    `KinesisWorkerModule.forRoot (or forRootAsync) is imported ${instances.length} times${by}. Each import starts its own workers for every @KinesisProcessor of the application: ` +
      `every shard would be consumed twice, with one import's options applied to the processors of the other. ` +
      `Import KinesisWorkerModule.forRoot once, in the root module: it is global, so processors declared in feature modules are found. ` +
      `For several lease tables give a processor its own appName, @KinesisProcessor({ stream, appName }); for several streams on one table set multiStream: true. ` +
      `A processor that needs other clients (another region or account) can run beside it with createWorker from 'nestjs-kinesis-worker/standalone'.`,
  );
}

/**
 * What a module lists in its imports: the @Module() metadata of its class, and for a dynamic module
 * (SomeModule.forRoot() returning { imports }) the dynamic metadata Nest keeps by module token. The
 * resolved `imports` set cannot tell: Nest adds every global module to it.
 */
function declaredImports(module: Module): unknown[] {
  const fromClass = (Reflect.getMetadata(IMPORTS, module.metatype) as unknown[] | undefined) ?? [];
  // Nest keeps the dynamic metadata on its container, which the Module holds but does not expose in its types.
  const container = (module as unknown as { container?: { getDynamicMetadataByToken?(token: string, key: string): unknown } }).container;
  const fromDynamic = container?.getDynamicMetadataByToken?.(module.token, IMPORTS);
  return [...fromClass, ...(Array.isArray(fromDynamic) ? (fromDynamic as unknown[]) : [])];
}

function importsOneOf(item: unknown, moduleClasses: ReadonlySet<unknown>): boolean {
  return moduleClasses.has(item) || (typeof item === 'object' && item !== null && moduleClasses.has((item as { module?: unknown }).module));
}

function listed(names: readonly string[]): string {
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
