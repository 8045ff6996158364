import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KinesisWorkerConfigError } from '../../core/errors';
import { awsKclPackage, libraryRoot } from './aws-kcl-module';
import { AWS_KCL_POM_LINE, defaultJarsDir } from './kcl-lines';

/** What scripts/provision-kcl-jars.js writes next to the jars. */
export const JARS_MARKER = 'kcl-jars.json';
/** The provisioning script's PROVISIONER: sets from an older script lack fixes the engine relies on. */
const MIN_PROVISIONER = 2;

interface JarsMarker {
  readonly provisioner?: number;
  readonly awsKclVersion?: string;
  readonly kclVersion?: string;
  readonly jars?: readonly string[];
}

export interface KclJars {
  readonly dir: string;
  readonly jars: readonly string[];
  readonly kclVersion?: string;
}

/** The version of the aws-kcl package this library runs with; its pom.xml decides the jars. Throws a config error when aws-kcl is missing. */
export function awsKclVersion(): string {
  return awsKclPackage().version;
}

/** The exact command that provisions the jars of this KCL line into `dir`. */
export function provisionCommand(dir: string, version: string = AWS_KCL_POM_LINE): string {
  const root = libraryRoot();
  const script = root ? join(root, 'scripts', 'provision-kcl-jars.js') : 'node_modules/nestjs-kinesis-worker/scripts/provision-kcl-jars.js';
  const fromCwd = root && resolve(process.cwd()) === root ? 'scripts/provision-kcl-jars.js' : script;
  const defaultDir = defaultJarsDir(version, resolve(process.env.KCL_JARS_DIR || join(process.cwd(), '.kcl', 'jars')));
  return `node ${fromCwd} --version ${version}${resolve(dir) === defaultDir ? '' : ` --dir ${dir}`}`;
}

/**
 * The provisioned jars, checked against the marker the provisioning script writes: present, complete, of
 * the KCL line asked for and, for aws-kcl's own line, for the installed aws-kcl version. Anything else is a
 * config error that names the command to run.
 */
export function locateJars(dir: string, version: string = AWS_KCL_POM_LINE): KclJars {
  const command = provisionCommand(dir, version);
  const markerPath = join(dir, JARS_MARKER);
  if (!existsSync(markerPath)) {
    throw new KinesisWorkerConfigError(
      'kcl.jarsDir',
      `the Java KCL ${version} jars are not provisioned in ${dir}. Run: ${command} (once per machine or CI cache; ${version === AWS_KCL_POM_LINE ? 'it uses the pom.xml of aws-kcl and Maven, or downloads from Maven Central' : `it resolves amazon-kinesis-client-multilang and its dependencies with Maven; without Maven, set kcl.version: '${AWS_KCL_POM_LINE}'`}).`,
    );
  }
  let marker: JarsMarker;
  try {
    marker = JSON.parse(readFileSync(markerPath, 'utf8')) as JarsMarker;
  } catch (error) {
    throw new KinesisWorkerConfigError('kcl.jarsDir', `${markerPath} is unreadable (${String(error)}). Run: ${command} --force`);
  }
  if (marker.kclVersion !== undefined && marker.kclVersion !== version) {
    throw new KinesisWorkerConfigError(
      'kcl.version',
      `the jars in ${dir} are the Java KCL ${marker.kclVersion}, but kcl.version asks for ${version}. Run: ${command} (or point kcl.jarsDir at that line's jars).`,
    );
  }
  if (version !== AWS_KCL_POM_LINE) return checkedJars(dir, marker, markerPath, command);
  const installed = awsKclVersion();
  if (marker.awsKclVersion !== installed) {
    throw new KinesisWorkerConfigError(
      'kcl.jarsDir',
      `the jars in ${dir} are for aws-kcl ${marker.awsKclVersion ?? 'unknown'}, but aws-kcl ${installed} is installed. Run: ${command}`,
    );
  }
  if ((marker.provisioner ?? 1) < MIN_PROVISIONER) {
    throw new KinesisWorkerConfigError(
      'kcl.jarsDir',
      `the jars in ${dir} were provisioned by an older script (without the protobuf-java fix for KPL-aggregated records). Run: ${command} --force`,
    );
  }
  return checkedJars(dir, marker, markerPath, command);
}

/** Every jar the marker lists is there. */
function checkedJars(dir: string, marker: JarsMarker, markerPath: string, command: string): KclJars {
  const jars = marker.jars ?? [];
  const missing = jars.filter((jar) => !existsSync(join(dir, jar)));
  if (jars.length === 0 || missing.length > 0) {
    throw new KinesisWorkerConfigError(
      'kcl.jarsDir',
      `${missing.length} of the ${jars.length} jars listed in ${markerPath} are missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}). Run: ${command} --force`,
    );
  }
  return { dir, jars, kclVersion: marker.kclVersion };
}

/** Runs `java -version`; rejects with a config error naming kcl.javaPath and JAVA_HOME when it cannot. */
export function checkJava(javaPath: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(javaPath, ['-version'], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) {
        const notFound = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new KinesisWorkerConfigError(
            'kcl.javaPath',
            notFound
              ? `no Java at '${javaPath}'. The 'kcl' engine runs the Java KCL: install a Java runtime 8 or later (e.g. apt-get install openjdk-17-jre-headless), or set JAVA_HOME or kcl.javaPath.`
              : `'${javaPath} -version' failed (${error.message.trim()}). Set JAVA_HOME or kcl.javaPath to a working Java 8 or later.`,
          ),
        );
        return;
      }
      // The launcher announces JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS before the version ("Picked up ...").
      const lines = `${stderr}${stdout}`.split('\n').map((line) => line.trim());
      resolvePromise(lines.find((line) => line !== '' && !/Picked up (JAVA_TOOL|JDK_JAVA|_JAVA)_OPTIONS/.test(line)) ?? lines[0]);
    });
  });
}
