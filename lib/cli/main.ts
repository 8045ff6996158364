#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError } from '../core/aws-errors';
import type { Io } from './io';
import { leasesCommand } from './leases-command';
import { localCommand } from './local-command';
import { resetCommand } from './reset-command';
import { USAGE, UsageError } from './usage';

const AWS_OPTIONS = {
  table: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'kinesis-endpoint': { type: 'string' },
} as const;

/** `npx kinesis-worker <command>`: exit 0 done, 1 failed (one line on stderr), 2 usage. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'leases': {
        const { values, positionals } = parse(rest, { ...AWS_OPTIONS, json: { type: 'boolean' }, watch: { type: 'boolean' } });
        return await leasesCommand(appName(positionals), values, io);
      }
      case 'reset': {
        const { values, positionals } = parse(rest, {
          ...AWS_OPTIONS,
          to: { type: 'string' },
          force: { type: 'boolean' },
          yes: { type: 'boolean' },
        });
        return await resetCommand(appName(positionals), values, io);
      }
      case 'local': {
        const { values } = parse(rest, { stream: { type: 'string' }, shards: { type: 'string' } });
        return await localCommand(values, io);
      }
      case 'kcl-jars':
        return provisionJars(rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'.`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`kinesis-worker: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`kinesis-worker ${command}: ${describeError(error)}`);
    return 1;
  }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  if (args.includes('--help') || args.includes('-h')) throw new UsageError('help');
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

function appName(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected one <appName>, got ${positionals.length}.`);
  return positionals[0];
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
  void main(process.argv.slice(2), terminalIo()).then((code) => process.exit(code));
}
