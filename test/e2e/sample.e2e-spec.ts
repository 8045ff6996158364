import { spawn } from 'node:child_process';
import { join } from 'node:path';

describe('the sample app (npm start)', () => {
  it('counts every order on the embedded emulators and exits cleanly', async () => {
    const root = join(__dirname, '..', '..');
    const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'sample/main.ts'], {
      cwd: root,
      env: { ...process.env, ORDERS: '600', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output).toContain('all 600 orders counted');
    expect(output).toMatch(/stopped; its leases on 'orders' are released/);
    expect(output).not.toMatch(/ERROR/);
    expect(code).toBe(0);
  });
});
