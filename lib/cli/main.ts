#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError } from '../core/aws-errors';
import { DEFAULT_REQUEST_TIMEOUT_S } from './aws-clients';
import { CliError } from './errors';
import type { Io } from './io';
import { leasesCommand } from './leases-command';
import { localCommand } from './local-command';
import { resetCommand } from './reset-command';
import { COMMAND_USAGE, USAGE, UsageError } from './usage';

const AWS_OPTIONS = {
  table: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'request-timeout': { type: 'string' },
} as const;

/**
 * `npx kinesis-worker <command>`: exit 0 done, 1 failed (a message on stderr that says what to
 * check, never a stack trace), 2 usage. Help asked for goes to stdout with exit 0.
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'leases': {
        const { values, positionals } = parse(command, rest, { ...AWS_OPTIONS, json: { type: 'boolean' }, watch: { type: 'boolean' } });
        if (!values) return help(command, io);
        return await leasesCommand(appName(command, positionals), values, requestTimeout(command, values), io);
      }
      case 'reset': {
        const { values, positionals } = parse(command, rest, {
          ...AWS_OPTIONS,
          to: { type: 'string' },
          force: { type: 'boolean' },
          yes: { type: 'boolean' },
          json: { type: 'boolean' },
          'dry-run': { type: 'boolean' },
          shard: { type: 'string', multiple: true },
          stream: { type: 'string', multiple: true },
        });
        if (!values) return help(command, io);
        return await resetCommand(appName(command, positionals), values, requestTimeout(command, values), io);
      }
      case 'local': {
        const { values, positionals } = parse(command, rest, {
          stream: { type: 'string' },
          shards: { type: 'string' },
          json: { type: 'boolean' },
        });
        if (!values) return help(command, io);
        if (positionals.length > 0) throw new UsageError(`local takes no argument, got '${positionals.join(' ')}'.`, command);
        return await localCommand(values, io);
      }
      case 'kcl-jars':
        return provisionJars(rest);
      case 'help':
        if (rest[0] !== undefined && COMMAND_USAGE[rest[0]] === undefined) throw new UsageError(`unknown command '${rest[0]}'.`);
        io.out(rest[0] === undefined ? USAGE : COMMAND_USAGE[rest[0]]);
        return 0;
      case '--help':
      case '-h':
        io.out(USAGE);
        return 0;
      case '--version':
        io.out(packageVersion());
        return 0;
      case undefined:
        io.err(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command '${command}'.`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const usage = error instanceof UsageError && error.command ? COMMAND_USAGE[error.command] : (COMMAND_USAGE[command] ?? USAGE);
      io.err(`kinesis-worker: ${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    io.err(`kinesis-worker ${command}: ${error instanceof CliError ? error.message : describeError(error)}`);
    return 1;
  }
}

function help(command: string, io: Io): number {
  io.out(COMMAND_USAGE[command]);
  return 0;
}

/** The parsed options, or no values when --help / -h was asked for. */
function parse<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  if (args.includes('--help') || args.includes('-h')) return { values: undefined, positionals: [] };
  if (args.some((arg) => arg === '--kinesis-endpoint' || arg.startsWith('--kinesis-endpoint=')))
    throw new UsageError(
      '--kinesis-endpoint is gone: leases and reset read and write only the lease table (DynamoDB) and never call Kinesis. ' +
        'Leave it out; --dynamodb-endpoint (or AWS_ENDPOINT_URL_DYNAMODB) is the endpoint they use.',
      command,
    );
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

function appName(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected one <appName>, got ${positionals.length}.`, command);
  return positionals[0];
}

function requestTimeout(command: string, values: { 'request-timeout'?: string }): number {
  const raw = values['request-timeout'];
  if (raw === undefined) return DEFAULT_REQUEST_TIMEOUT_S;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw new UsageError(`--request-timeout must be a number of seconds between 0 and 3600, got '${raw}'.`, command);
  return seconds;
}

/** The version in the package's own package.json (dist/lib/cli/ or lib/cli/ up to the package root). */
function packageVersion(): string {
  for (const path of [join(__dirname, '..', '..', '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    if (!existsSync(path)) continue;
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (manifest.name === 'nestjs-kinesis-worker' && manifest.version) return manifest.version;
  }
  throw new CliError('the package.json of nestjs-kinesis-worker is missing from the installed package.');
}

/** The same script `npm run kcl:jars` runs, shipped with the package. */
function provisionJars(args: string[]): number {
  const script = [
    join(__dirname, '..', '..', '..', 'scripts', 'provision-kcl-jars.js'),
    join(__dirname, '..', '..', 'scripts', 'provision-kcl-jars.js'),
  ].find(existsSync);
  if (!script) throw new Error('scripts/provision-kcl-jars.js is missing from the installed package.');
  return spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' }).status ?? 1;
}

function terminalIo(): Io {
  let interrupted = false;
  const waiters = new Set<() => void>();
  const interrupt = () => {
    interrupted = true;
    for (const wake of waiters) wake();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return {
    isTerminal: process.stdout.isTTY === true,
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
      try {
        const answer = rl.question(question);
        const closed = new Promise<undefined>((resolve) => rl.once('close', () => resolve(undefined)));
        return await Promise.race([answer, closed]);
      } finally {
        rl.close();
      }
    },
    wait: (ms) =>
      new Promise((resolve) => {
        if (interrupted) return resolve(false);
        const wake = () => (clearTimeout(timer), waiters.delete(wake), resolve(false));
        const timer = setTimeout(() => (waiters.delete(wake), resolve(true)), ms);
        waiters.add(wake);
      }),
  };
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Whatever escapes main (a bug, an error thrown on a socket later): one line and exit 1, never a stack trace.
  const fatal = (error: unknown) => {
    process.stderr.write(`kinesis-worker: unexpected failure: ${describeError(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  void main(process.argv.slice(2), terminalIo()).then((code) => process.exit(code), fatal);
}
