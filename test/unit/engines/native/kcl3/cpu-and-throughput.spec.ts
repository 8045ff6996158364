import { availableCores, CpuUtilisation } from '../../../../../lib/engines/native/kcl3/cpu-utilisation';
import { ThroughputMeter } from '../../../../../lib/engines/native/kcl3/throughput-meter';

describe('CpuUtilisation', () => {
  it('is the process CPU time over the wall time and the cores it may use, in percent, per sampling window', () => {
    let cpu = 0;
    let wall = 0;
    const meter = new CpuUtilisation(
      2,
      () => ({ user: cpu, system: 0 }),
      () => wall,
    );
    cpu = 500_000; // 0.5 s of CPU
    wall = 1_000_000; // in 1 s, on 2 cores
    expect(meter.sample()).toBe(25);
    wall = 2_000_000; // idle second
    expect(meter.sample()).toBe(0);
    cpu = 10_000_000; // more than the cores allow (clock skew): capped
    wall = 2_100_000;
    expect(meter.sample()).toBe(100);
    expect(meter.sample()).toBe(0); // no time passed
  });

  it('really measures this process: a busy loop shows up', () => {
    const meter = new CpuUtilisation(1);
    const until = Date.now() + 50;
    while (Date.now() < until) Math.sqrt(Math.random());
    expect(meter.sample()).toBeGreaterThan(0);
  });

  it('takes the cgroup v2 or v1 CPU quota when one is set, else the host cores', () => {
    expect(availableCores((path) => (path === '/sys/fs/cgroup/cpu.max' ? '50000 100000\n' : undefined))).toBe(0.5);
    expect(
      availableCores(
        (path) => ({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })[path],
      ),
    ).toBe(1);
    const host = availableCores(() => undefined);
    expect(availableCores((path) => (path === '/sys/fs/cgroup/cpu.max' ? 'max 100000' : undefined))).toBe(host);
  });
});

describe('ThroughputMeter', () => {
  it('reports KB/s since the previous reading and starts a new window', () => {
    let now = 0;
    const meter = new ThroughputMeter(() => now);
    meter.add(1024 * 10);
    now = 2_000;
    expect(meter.takeKBps()).toBe(5);
    now = 3_000;
    expect(meter.takeKBps()).toBe(0);
  });
});
