import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinesisWorkerConfigError } from '../../../../lib';
import { awsKclVersion, checkJava, locateJars, provisionCommand } from '../../../../lib/engines/kcl/jars';
import { AWS_KCL_POM_LINE, KCL_3_LINE, defaultJarsDir } from '../../../../lib/engines/kcl/kcl-lines';

const { pomDependencies, correctedPom, lineDir, selectedLines, multilangPom, KCL_LINES } =
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the provisioning script is plain CommonJS
  require('../../../../scripts/provision-kcl-jars.js') as {
    pomDependencies: (pom: string) => { groupId: string; artifactId: string; version: string }[];
    correctedPom: (pom: string, awsKclVersion: string) => string;
    lineDir: (base: string, line: { version: string; awsKclPom?: boolean }) => string;
    selectedLines: (versions: string[]) => { version: string; awsKclPom?: boolean }[];
    multilangPom: (version: string) => string;
    KCL_LINES: { version: string; awsKclPom?: boolean }[];
  };

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kcl-jars-'))));
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

describe('the provisioned jars', () => {
  it('without jars: a config error on kcl.jarsDir that names the command to run', () => {
    const error = configError(() => locateJars(join(dir, 'jars')));
    expect(error.option).toBe('kcl.jarsDir');
    // From the project root (where jest runs) the script path is relative; from elsewhere it is absolute.
    expect(error.message).toContain(`Run: node scripts/provision-kcl-jars.js --version 2.7.2 --dir ${join(dir, 'jars')}`);
  });

  it('the command is short from the project root with the default directory of each line', () => {
    const saved = process.env.KCL_JARS_DIR;
    delete process.env.KCL_JARS_DIR;
    try {
      expect(provisionCommand(join(process.cwd(), '.kcl', 'jars'))).toBe('node scripts/provision-kcl-jars.js --version 2.7.2');
      expect(provisionCommand(join(process.cwd(), '.kcl', 'jars-3.1.3'), '3.1.3')).toBe(
        'node scripts/provision-kcl-jars.js --version 3.1.3',
      );
      expect(provisionCommand(join(process.cwd(), '.kcl', 'jars'), '3.1.3')).toBe(
        `node scripts/provision-kcl-jars.js --version 3.1.3 --dir ${join(process.cwd(), '.kcl', 'jars')}`,
      );
    } finally {
      if (saved !== undefined) process.env.KCL_JARS_DIR = saved;
    }
  });

  it("a 3.x line: the marker must name that line; aws-kcl's version does not matter to it", () => {
    writeFileSync(
      join(dir, 'kcl-jars.json'),
      JSON.stringify({ kclVersion: '2.7.2', awsKclVersion: awsKclVersion(), provisioner: 2, jars: ['a.jar'] }),
    );
    writeFileSync(join(dir, 'a.jar'), '');
    const wrongLine = configError(() => locateJars(dir, '3.1.3'));
    expect(wrongLine.option).toBe('kcl.version');
    expect(wrongLine.message).toMatch(
      /are the Java KCL 2\.7\.2, but kcl\.version asks for 3\.1\.3\. Run: node .*provision-kcl-jars\.js --version 3\.1\.3/,
    );
    writeFileSync(join(dir, 'kcl-jars.json'), JSON.stringify({ kclVersion: '3.1.3', provisioner: 2, jars: ['a.jar'] }));
    expect(locateJars(dir, '3.1.3')).toEqual({ dir, jars: ['a.jar'], kclVersion: '3.1.3' });
  });

  it('jars for another aws-kcl version, or missing jars: a config error asking to provision again', () => {
    writeFileSync(join(dir, 'kcl-jars.json'), JSON.stringify({ awsKclVersion: '2.0.0', jars: ['a.jar'] }));
    expect(configError(() => locateJars(dir)).message).toMatch(/for aws-kcl 2\.0\.0, but aws-kcl 2\.3\.2 is installed/);
    writeFileSync(join(dir, 'kcl-jars.json'), JSON.stringify({ awsKclVersion: awsKclVersion(), jars: ['a.jar'] }));
    expect(configError(() => locateJars(dir)).message).toMatch(/provisioned by an older script .*protobuf-java.*--force/);
    writeFileSync(join(dir, 'kcl-jars.json'), JSON.stringify({ awsKclVersion: awsKclVersion(), provisioner: 2, jars: ['a.jar', 'b.jar'] }));
    writeFileSync(join(dir, 'a.jar'), '');
    expect(configError(() => locateJars(dir)).message).toMatch(/1 of the 2 jars .* are missing \(b\.jar\).*--force/);
    writeFileSync(join(dir, 'b.jar'), '');
    expect(locateJars(dir)).toEqual({ dir, jars: ['a.jar', 'b.jar'], kclVersion: undefined });
  });

  it("reads every jar from aws-kcl's pom.xml, with the ${...} versions resolved and protobuf-java corrected to what KCL 2.7.2 needs", () => {
    const pom = readFileSync(require.resolve('aws-kcl/pom.xml'), 'utf8');
    const deps = pomDependencies(pom);
    expect(deps).toHaveLength(79);
    expect(deps).toContainEqual({ groupId: 'software.amazon.kinesis', artifactId: 'amazon-kinesis-client-multilang', version: '2.7.2' });
    expect(deps.every((d) => !d.version.includes('$'))).toBe(true);
    expect(deps.find((d) => d.artifactId === 'protobuf-java')!.version).toBe('4.27.5');
    const corrected = pomDependencies(correctedPom(pom, '2.3.2'));
    expect(corrected.find((d) => d.artifactId === 'protobuf-java')!.version).toBe('4.31.1');
    expect(corrected.filter((d) => d.artifactId !== 'protobuf-java')).toEqual(deps.filter((d) => d.artifactId !== 'protobuf-java'));
  });

  it('a missing java: a config error on kcl.javaPath that says what to install or set', async () => {
    mkdirSync(join(dir, 'bin'));
    await expect(checkJava(join(dir, 'bin', 'java'))).rejects.toMatchObject({
      option: 'kcl.javaPath',
      message: expect.stringMatching(/no Java at .*JAVA_HOME or kcl.javaPath/),
    });
    await expect(checkJava('java')).resolves.toMatch(/version/);
  });

  it("java's version line, also when the launcher first announces JAVA_TOOL_OPTIONS and JDK_JAVA_OPTIONS", async () => {
    const saved = { tool: process.env.JAVA_TOOL_OPTIONS, jdk: process.env.JDK_JAVA_OPTIONS };
    process.env.JAVA_TOOL_OPTIONS = '-Xss1m';
    process.env.JDK_JAVA_OPTIONS = '-XX:+UseSerialGC';
    try {
      await expect(checkJava('java')).resolves.toMatch(/^(openjdk|java) version /);
    } finally {
      for (const [name, value] of [
        ['JAVA_TOOL_OPTIONS', saved.tool],
        ['JDK_JAVA_OPTIONS', saved.jdk],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
  });

  it('the cache keeps each KCL line in its own directory, the same ones the engine looks in', () => {
    expect(KCL_LINES.map((line) => line.version)).toEqual([KCL_3_LINE, AWS_KCL_POM_LINE]);
    for (const line of KCL_LINES) expect(lineDir('/c/jars', line)).toBe(defaultJarsDir(line.version, '/c/jars'));
    expect(selectedLines([])).toEqual(KCL_LINES);
    expect(selectedLines(['3.1.3']).map((line) => line.version)).toEqual(['3.1.3']);
    expect(selectedLines(['3.2.0'])).toEqual([{ version: '3.2.0' }]);
    expect(() => selectedLines(['latest'])).toThrow(/--version expects a KCL version/);
    expect(multilangPom('3.1.3')).toContain('<artifactId>amazon-kinesis-client-multilang</artifactId>\n      <version>3.1.3</version>');
  });
});
