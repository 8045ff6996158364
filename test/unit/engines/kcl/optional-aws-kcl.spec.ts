/* eslint-disable @typescript-eslint/require-await -- processors that answer at once */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamWorkerOptions } from '../../../../lib/core/options';

/**
 * aws-kcl is an optional peer dependency: the library loads without it, and engine 'kcl' fails at
 * construction (bootstrap) with a config error that names the fix. "Without it" is aws-kcl resolved
 * from a directory where it is not installed, and a require('aws-kcl') that throws.
 */
const silent = { log() {}, warn() {}, error() {} };
const options: StreamWorkerOptions = { appName: 'app', streamName: 'orders', region: 'us-east-1', logger: silent };
let empty: string;
beforeAll(() => (empty = realpathSync(mkdtempSync(join(tmpdir(), 'no-aws-kcl-')))));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function withoutAwsKcl<T>(body: () => T): T {
  let result: T;
  jest.isolateModules(() => {
    jest.doMock('aws-kcl', () => {
      throw Object.assign(new Error("Cannot find module 'aws-kcl'"), { code: 'MODULE_NOT_FOUND' });
    });
    jest.doMock('../../../../lib/engines/kcl/aws-kcl-module', () => {
      const actual = jest.requireActual('../../../../lib/engines/kcl/aws-kcl-module');
      return { ...actual, loadAwsKcl: () => actual.loadAwsKcl({ paths: [empty] }) };
    });
    result = body();
  });
  jest.dontMock('aws-kcl');
  jest.dontMock('../../../../lib/engines/kcl/aws-kcl-module');
  return result!;
}

describe('without aws-kcl installed', () => {
  it('the library loads, and the native engine is built', () => {
    const worker = withoutAwsKcl(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded inside jest.isolateModules, with aws-kcl mocked away
      const lib = require('../../../../lib') as typeof import('../../../../lib');
      return lib.createWorker(options, () => ({ processRecords: async () => undefined }));
    });
    expect(worker.describe().engine).toBe('native');
  });

  it("engine 'kcl': createWorker throws a config error naming engine: 'kcl', npm install aws-kcl@2.3.2 and the jar provisioning", () => {
    const error = withoutAwsKcl(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded inside jest.isolateModules, with aws-kcl mocked away
      const lib = require('../../../../lib') as typeof import('../../../../lib');
      try {
        lib.createWorker({ ...options, engine: 'kcl' }, () => ({ processRecords: async () => undefined }));
      } catch (thrown) {
        expect(thrown).toBeInstanceOf(lib.KinesisWorkerConfigError);
        return thrown as InstanceType<typeof lib.KinesisWorkerConfigError>;
      }
      throw new Error('createWorker succeeded without aws-kcl');
    });
    expect(error.option).toBe('engine');
    expect(error.message).toContain("engine: 'kcl'");
    expect(error.message).toContain('npm install aws-kcl@2.3.2');
    expect(error.message).toMatch(/provision-kcl-jars\.js/);
  });
});
