import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KinesisWorkerConfigError } from '../../../../lib/core/errors';
import {
  AWS_KCL_VERSION,
  awsKclPackage,
  isSupportedAwsKclVersion,
  loadAwsKcl,
  provisionJarsCommand,
} from '../../../../lib/engines/kcl/aws-kcl-module';

let dir: string;
beforeEach(() => (dir = realpathSync(mkdtempSync(join(tmpdir(), 'aws-kcl-module-')))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function configError(fn: () => unknown): KinesisWorkerConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error('expected a config error');
}

/** A fake aws-kcl package in `dir`/node_modules. */
function fakeAwsKcl(version: string, main = "module.exports = function fakeKcl() { return 'fake'; };"): string {
  const pkg = join(dir, 'node_modules', 'aws-kcl');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'aws-kcl', version, main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), main);
  writeFileSync(join(pkg, 'pom.xml'), '<project/>');
  return pkg;
}

describe('loading aws-kcl, an optional peer dependency', () => {
  it("without aws-kcl: a config error on 'engine' naming engine: 'kcl', the install command and the jar command", () => {
    const error = configError(() => loadAwsKcl({ paths: [dir] }));
    expect(error.option).toBe('engine');
    expect(error.message).toContain("Invalid nestjs-kinesis-worker option 'engine'");
    expect(error.message).toContain("engine: 'kcl' needs the npm package aws-kcl");
    expect(error.message).toContain('optional peer dependency');
    expect(error.message).toContain(`npm install aws-kcl@${AWS_KCL_VERSION}`);
    // jest runs from the project root: the script path is relative to it.
    expect(error.message).toContain('then provision the Java KCL jars once with: node scripts/provision-kcl-jars.js');
    expect(error.message).toContain(`cannot be found from ${dir}`);
    expect(error.message).toContain("'native'");
  });

  it('without aws-kcl, awsKclPackage (for the pom.xml and version) throws the same error', () => {
    const error = configError(() => awsKclPackage({ paths: [dir] }));
    expect(error.option).toBe('engine');
    expect(error.message).toContain(`npm install aws-kcl@${AWS_KCL_VERSION}`);
  });

  it('with aws-kcl installed where resolution looks, loads it and finds its pom.xml', () => {
    const pkg = fakeAwsKcl('2.3.2');
    expect(loadAwsKcl<() => string>({ paths: [join(dir, 'app')] })()).toBe('fake');
    expect(awsKclPackage({ paths: [dir] })).toEqual({ dir: pkg, version: '2.3.2', pom: join(pkg, 'pom.xml') });
  });

  it('an aws-kcl outside ~2.3.2: a config error naming the installed and the wanted version', () => {
    fakeAwsKcl('2.4.0');
    const error = configError(() => loadAwsKcl({ paths: [dir] }));
    expect(error.option).toBe('engine');
    expect(error.message).toContain('written for aws-kcl ~2.3.2, but aws-kcl 2.4.0 is installed');
    expect(error.message).toContain(`npm install aws-kcl@${AWS_KCL_VERSION}`);
  });

  it('an aws-kcl that fails to load (e.g. a dependency of its own missing): a config error, not a bare MODULE_NOT_FOUND', () => {
    fakeAwsKcl('2.3.2', "require('commander-that-is-not-there');");
    const error = configError(() => loadAwsKcl({ paths: [dir] }));
    expect(error.message).toContain('fails to load');
    expect(error.message).toContain('commander-that-is-not-there');
  });

  it("by default resolves from the library's own location: this repo's devDependency", () => {
    const found = awsKclPackage();
    expect(found.version).toBe(AWS_KCL_VERSION);
    expect(found.pom).toBe(join(dirname(require.resolve('aws-kcl/package.json')), 'pom.xml'));
    expect(typeof loadAwsKcl()).toBe('function');
  });

  it('accepts ~2.3.2 only', () => {
    expect(['2.3.2', '2.3.3', '2.3.10'].every(isSupportedAwsKclVersion)).toBe(true);
    expect(['2.3.1', '2.4.0', '3.3.2', '2.3.2-beta.1', 'x'].some(isSupportedAwsKclVersion)).toBe(false);
  });

  it('the jar command is relative from the project root', () => {
    expect(provisionJarsCommand()).toBe('node scripts/provision-kcl-jars.js');
  });
});
