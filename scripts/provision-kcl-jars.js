#!/usr/bin/env node
/**
 * Provisions the jars of the Java KCL MultiLangDaemon for the `kcl` engine, from the pom.xml that the
 * npm package aws-kcl ships, into a cache directory (default: ./.kcl/jars, or KCL_JARS_DIR).
 *
 *   node scripts/provision-kcl-jars.js [--dir <directory>] [--force] [--direct]
 *
 * - With Maven on the PATH (default): aws-kcl's pom.xml lacks its own coordinates, so mvn refuses it
 *   as it is. A copy with coordinates added is resolved with
 *   `mvn dependency:copy-dependencies -DexcludeTransitive=true` (the pom lists every jar explicitly).
 * - Without Maven, or with --direct: every jar the pom lists is downloaded from Maven Central over
 *   HTTPS and checked against Maven Central's SHA-1.
 *
 * A marker file (kcl-jars.json) records the aws-kcl version and the jar list: a rerun with the same
 * aws-kcl version does nothing. The jars are swapped in atomically, so an interrupted run never leaves
 * a half-filled directory that looks complete. Plain Node.js, no dependencies: runs before any build.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');

const MARKER = 'kcl-jars.json';
/** Bumped when the provisioned set changes for the same aws-kcl version; the engine refuses older sets. */
const PROVISIONER = 2;

/**
 * Corrections to the jar versions that aws-kcl's pom.xml lists, per aws-kcl version.
 * - 2.3.2 lists protobuf-java 4.27.5, but the KPL classes of KCL 2.7.2 (the one it lists) were generated
 *   by protoc 4.31.1 and refuse an older runtime: the first KPL-aggregated record fails with
 *   ProtobufRuntimeVersionException, and the MultiLangDaemon exits. KCL 2.7.2 itself declares 4.31.1.
 */
const VERSION_OVERRIDES = {
  '2.3.2': { 'com.google.protobuf:protobuf-java': '4.31.1' },
};
const MAVEN_CENTRAL = (process.env.KCL_MAVEN_REPOSITORY || 'https://repo1.maven.org/maven2').replace(/\/+$/, '');

function parseArgs(argv) {
  const args = { dir: undefined, force: false, direct: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dir') args.dir = argv[++i];
    else if (arg.startsWith('--dir=')) args.dir = arg.slice('--dir='.length);
    else if (arg === '--force') args.force = true;
    else if (arg === '--direct') args.direct = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('Usage: node scripts/provision-kcl-jars.js [--dir <directory>] [--force] [--direct]');
      process.exit(0);
    } else {
      throw new Error(`Unknown argument ${arg}. Usage: node scripts/provision-kcl-jars.js [--dir <directory>] [--force] [--direct]`);
    }
  }
  return args;
}

function findAwsKcl() {
  let packageJson;
  try {
    packageJson = require.resolve('aws-kcl/package.json', { paths: [process.cwd(), __dirname] });
  } catch {
    throw new Error(
      "The npm package aws-kcl is not installed. It is an optional peer dependency of nestjs-kinesis-worker, needed by engine: 'kcl' only: run 'npm install aws-kcl@2.3.2', then this command again.",
    );
  }
  const dir = path.dirname(packageJson);
  return { dir, version: JSON.parse(fs.readFileSync(packageJson, 'utf8')).version, pom: path.join(dir, 'pom.xml') };
}

/** The <dependency> entries of the pom, with ${property} versions resolved. */
function pomDependencies(pomText) {
  const properties = {};
  const propertiesBlock = /<properties>([\s\S]*?)<\/properties>/.exec(pomText);
  if (propertiesBlock) {
    for (const match of propertiesBlock[1].matchAll(/<([A-Za-z0-9_.-]+)>\s*([^<]*?)\s*<\/\1>/g)) properties[match[1]] = match[2];
  }
  const resolve = (value) => value.replace(/\$\{([^}]+)\}/g, (_, name) => {
    if (!(name in properties)) throw new Error(`pom.xml uses the undefined property \${${name}}`);
    return properties[name];
  });
  const dependencies = [];
  for (const match of pomText.matchAll(/<dependency>([\s\S]*?)<\/dependency>/g)) {
    const field = (name) => {
      const found = new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(match[1]);
      return found ? resolve(found[1]) : undefined;
    };
    const scope = field('scope');
    if (scope === 'test' || scope === 'provided') continue;
    const dependency = { groupId: field('groupId'), artifactId: field('artifactId'), version: field('version') };
    if (!dependency.groupId || !dependency.artifactId || !dependency.version) {
      throw new Error(`pom.xml has a dependency without groupId, artifactId or version: ${match[1].trim()}`);
    }
    dependencies.push(dependency);
  }
  if (dependencies.length === 0) throw new Error('pom.xml lists no dependencies');
  return dependencies;
}

function readMarker(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8'));
  } catch {
    return undefined;
  }
}

function upToDate(dir, awsKclVersion) {
  const marker = readMarker(dir);
  return Boolean(
    marker &&
      marker.awsKclVersion === awsKclVersion &&
      marker.provisioner >= PROVISIONER &&
      Array.isArray(marker.jars) &&
      marker.jars.length > 0 &&
      marker.jars.every((jar) => fs.existsSync(path.join(dir, jar))),
  );
}

function hasMaven() {
  const result = spawnSync('mvn', ['-v'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/** The pom with the version corrections for this aws-kcl version applied. */
function correctedPom(pomText, awsKclVersion) {
  let text = pomText;
  for (const [coordinates, version] of Object.entries(VERSION_OVERRIDES[awsKclVersion] || {})) {
    const [groupId, artifactId] = coordinates.split(':');
    const pattern = new RegExp(`(<groupId>\\s*${groupId.replace(/\./g, '\\.')}\\s*</groupId>\\s*<artifactId>\\s*${artifactId}\\s*</artifactId>\\s*<version>)[^<]*(</version>)`);
    if (!pattern.test(text)) throw new Error(`pom.xml of aws-kcl ${awsKclVersion} does not list ${coordinates} as expected; the correction to ${version} cannot be applied.`);
    text = text.replace(pattern, `$1${version}$2`);
  }
  return text;
}

function withMaven(pomText, stagingDir) {
  // aws-kcl's pom.xml has no coordinates of its own; Maven needs them to read it.
  const withCoordinates = pomText.replace(
    /(<modelVersion>[^<]*<\/modelVersion>)/,
    '$1<groupId>local.kcl</groupId><artifactId>kcl-jars</artifactId><version>1</version><packaging>pom</packaging>',
  );
  if (withCoordinates === pomText) throw new Error('pom.xml has no <modelVersion>: cannot add the coordinates Maven needs.');
  const pomCopy = path.join(stagingDir, '..', `${path.basename(stagingDir)}.pom.xml`);
  fs.writeFileSync(pomCopy, withCoordinates);
  try {
    const result = spawnSync(
      'mvn',
      ['-B', '-q', '-f', pomCopy, 'dependency:copy-dependencies', '-DexcludeTransitive=true', `-DoutputDirectory=${stagingDir}`],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`mvn exited with code ${result.status}:\n${result.stdout}${result.stderr}`);
  } finally {
    fs.rmSync(pomCopy, { force: true });
  }
}

function get(url, redirects = 0) {
  return new Promise((resolve, reject) => {
    https
      .get(url, (response) => {
        const { statusCode = 0, headers } = response;
        if (statusCode >= 300 && statusCode < 400 && headers.location && redirects < 5) {
          response.resume();
          resolve(get(new URL(headers.location, url).toString(), redirects + 1));
          return;
        }
        if (statusCode !== 200) {
          response.resume();
          reject(new Error(`GET ${url} answered HTTP ${statusCode}`));
          return;
        }
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks)));
        response.on('error', reject);
      })
      .on('error', reject)
      .setTimeout(60_000, function onTimeout() {
        this.destroy(new Error(`GET ${url} timed out`));
      });
  });
}

async function direct(dependencies, stagingDir) {
  const queue = [...dependencies];
  const unverified = [];
  let done = 0;
  const worker = async () => {
    for (let dep = queue.shift(); dep; dep = queue.shift()) {
      const file = `${dep.artifactId}-${dep.version}.jar`;
      const url = `${MAVEN_CENTRAL}/${dep.groupId.split('.').join('/')}/${dep.artifactId}/${dep.version}/${file}`;
      const [jar, sha1] = await Promise.all([get(url), get(`${url}.sha1`).catch((error) => error)]);
      if (jar.subarray(0, 2).toString('latin1') !== 'PK') throw new Error(`${url} is not a jar (zip) file`);
      if (sha1 instanceof Error) {
        unverified.push(file);
      } else {
        const expected = sha1.toString('utf8').trim().split(/\s+/)[0].toLowerCase();
        const actual = crypto.createHash('sha1').update(jar).digest('hex');
        if (actual !== expected) throw new Error(`${file}: SHA-1 ${actual} does not match the repository's ${expected}`);
      }
      fs.writeFileSync(path.join(stagingDir, file), jar);
      done++;
      if (done % 20 === 0) console.log(`  ${done}/${dependencies.length} jars`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (unverified.length > 0) {
    console.warn(`  warning: the repository published no SHA-1 for ${unverified.length} jar(s); checked that they are zip files only: ${unverified.join(', ')}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dir = path.resolve(args.dir || process.env.KCL_JARS_DIR || path.join(process.cwd(), '.kcl', 'jars'));
  const awsKcl = findAwsKcl();
  if (!args.force && upToDate(dir, awsKcl.version)) {
    console.log(`KCL jars for aws-kcl ${awsKcl.version} are already in ${dir}.`);
    return;
  }
  const pomText = correctedPom(fs.readFileSync(awsKcl.pom, 'utf8'), awsKcl.version);
  const dependencies = pomDependencies(pomText);
  const overrides = VERSION_OVERRIDES[awsKcl.version] || {};
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.staging-`);
  const started = Date.now();
  try {
    const useMaven = !args.direct && hasMaven();
    console.log(
      `Provisioning ${dependencies.length} KCL jars for aws-kcl ${awsKcl.version} into ${dir} ` +
        (useMaven ? '(mvn dependency:copy-dependencies)...' : `(direct download from ${MAVEN_CENTRAL})...`),
    );
    if (useMaven) withMaven(pomText, staging);
    else await direct(dependencies, staging);
    const jars = fs.readdirSync(staging).filter((file) => file.endsWith('.jar')).sort();
    const expected = dependencies.map((dep) => `${dep.artifactId}-${dep.version}.jar`);
    const missing = expected.filter((jar) => !jars.includes(jar));
    if (missing.length > 0) throw new Error(`these jars were not provisioned: ${missing.join(', ')}`);
    const kcl = dependencies.find((dep) => dep.artifactId === 'amazon-kinesis-client-multilang');
    fs.writeFileSync(
      path.join(staging, MARKER),
      `${JSON.stringify(
        { awsKclVersion: awsKcl.version, kclVersion: kcl ? kcl.version : undefined, provisioner: PROVISIONER, overrides, jars, provisionedAt: new Date().toISOString() },
        null,
        2,
      )}\n`,
    );
    // Swap the complete directory in.
    const old = `${dir}.old-${process.pid}`;
    if (fs.existsSync(dir)) fs.renameSync(dir, old);
    fs.renameSync(staging, dir);
    fs.rmSync(old, { recursive: true, force: true });
    const bytes = jars.reduce((sum, jar) => sum + fs.statSync(path.join(dir, jar)).size, 0);
    for (const [coordinates, version] of Object.entries(overrides)) console.log(`  ${coordinates} ${version} instead of the pom's version (see VERSION_OVERRIDES).`);
    console.log(`${jars.length} jars (${(bytes / 1e6).toFixed(1)} MB) in ${dir}, ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`provision-kcl-jars: ${error && error.message ? error.message : error}`);
    process.exit(1);
  });
}

module.exports = { pomDependencies, correctedPom, upToDate, MARKER, PROVISIONER, VERSION_OVERRIDES };
