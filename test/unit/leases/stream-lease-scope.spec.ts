import { recreatedScope } from '../../../lib/leases/stream-lease-scope';

describe('recreatedScope: a stream deleted and created again under its name', () => {
  const arn = (account: string) => `arn:aws:kinesis:us-east-1:${account}:stream/orders`;
  const at = (epochSeconds: number) => new Date(epochSeconds * 1000 + 250);
  const known = '123456789012:orders:1700000000';

  it('a later creation is a new stream: its scope keys leases with the new epoch', () => {
    const scope = recreatedScope(known, 'orders', arn('123456789012'), at(1700000042));
    expect(scope?.streamIdentifier).toBe('123456789012:orders:1700000042');
    expect(scope?.identity('shardId-000000000000').leaseKey).toBe('123456789012:orders:1700000042:shardId-000000000000');
    expect(scope?.owns({ streamIdentifier: known })).toBe(false);
  });

  it('the same stream, an earlier creation (a stale answer), another account or an answer without ARN or time: no replacement', () => {
    expect(recreatedScope(known, 'orders', arn('123456789012'), at(1700000000))).toBeUndefined();
    expect(recreatedScope(known, 'orders', arn('123456789012'), at(1699999999))).toBeUndefined();
    expect(recreatedScope(known, 'orders', arn('210987654321'), at(1700000042))).toBeUndefined();
    expect(recreatedScope(known, 'orders', undefined, at(1700000042))).toBeUndefined();
    expect(recreatedScope(known, 'orders', arn('123456789012'), undefined)).toBeUndefined();
  });
});
