import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Starts a TypeScript script as a child process and waits for its 'ready' message. */
export async function startChild(script: string, args: string[]): Promise<ChildProcess> {
  const child = fork(script, args, { execArgv: ['-r', require.resolve('ts-node/register/transpile-only')], stdio: 'inherit' });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Resident set size of a process, from /proc, in MB. */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}
