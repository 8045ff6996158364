#!/usr/bin/env node
// The checks `npm test` runs before jest: the type-check, ESLint and Prettier, side by side. Each is one
// process on one core; one after another they took ~75 s of a loaded 2-core machine, side by side ~40 s.
// Each one's output is printed whole when it ends, so that the three never interleave.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const bin = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
const checks = [
  ['type-check', bin('typescript', 'bin/tsc'), ['-p', 'tsconfig.json', '--noEmit']],
  ['eslint', bin('eslint', 'bin/eslint.js'), ['.']],
  ['prettier', bin('prettier', 'bin/prettier.cjs'), ['--check', '{lib,test,sample,bench,scripts}/**/*.{ts,js}']],
];

const started = Date.now();
void Promise.all(
  checks.map(
    ([name, script, args]) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [script, ...args], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('error', (error) => resolve({ name, code: 1, output: String(error) }));
        child.on('close', (code) => resolve({ name, code, output }));
      }),
  ),
).then((results) => {
  for (const { name, code, output } of results) {
    const text = output.trim();
    process.stdout.write(
      `> ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`}\n${text && (code !== 0 || name === 'prettier') ? `${text}\n` : ''}`,
    );
  }
  const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
  process.stdout.write(
    `checks: ${failed.length ? `${failed.join(', ')} failed` : 'all passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  process.exitCode = failed.length ? 1 : 0;
});
