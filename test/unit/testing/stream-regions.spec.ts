import { SEPARATE_REGIONS, claimStreamNames } from '../../../lib/testing/stream-regions';

/** The names a live KinesisTestStreams holds on one kinesis-local: no I/O, the claims only. */
describe('claimStreamNames: one region per live owner of a stream name', () => {
  const endpoint = `http://127.0.0.1:${process.pid}-unit`;

  it("takes the emulators' region first, another one while a live claim holds a name, and the first again once released", () => {
    const first = claimStreamNames(endpoint, ['orders'], 'us-east-1');
    const second = claimStreamNames(endpoint, ['orders', 'audit'], 'us-east-1');
    const unrelated = claimStreamNames(endpoint, ['payments'], 'us-east-1');
    expect([first.region, second.region, unrelated.region]).toEqual(['us-east-1', 'us-east-2', 'us-east-1']);
    first.release();
    first.release(); // idempotent: does not free a name someone else claimed since
    const third = claimStreamNames(endpoint, ['orders'], 'us-east-1');
    expect(third.region).toBe('us-east-1');
    // Another emulator is another namespace.
    expect(claimStreamNames(`${endpoint}-other`, ['orders'], 'us-east-1').region).toBe('us-east-1');
    for (const claim of [second, unrelated, third]) claim.release();
  });

  it('refuses, naming the streams and the fix, once every region kinesis-local keeps apart holds the name', () => {
    const claims = SEPARATE_REGIONS.map(() => claimStreamNames(endpoint, ['orders']));
    expect(new Set(claims.map((claim) => claim.region)).size).toBe(SEPARATE_REGIONS.length);
    expect(() => claimStreamNames(endpoint, ['orders'])).toThrow(
      `Stream(s) orders are in use by ${SEPARATE_REGIONS.length} live KinesisTestStreams (or KinesisWorkerTestingModule) of this process`,
    );
    expect(() => claimStreamNames(endpoint, ['orders'])).toThrow(/close the ones a test is done with \(await app.close\(\)/);
    claims.forEach((claim) => claim.release());
    const again = claimStreamNames(endpoint, ['orders']);
    expect(again.region).toBe(SEPARATE_REGIONS[0]);
    again.release();
  });
});
