import { fairShare } from '../../../../../lib/engines/native/concurrency/fair-share';

describe('fairShare', () => {
  it('divides the bound evenly, rounded down, at least 1', () => {
    expect(fairShare(10_000, 1)).toBe(10_000);
    expect(fairShare(10_000, 3)).toBe(3_333);
    expect(fairShare(8, 2)).toBe(4);
    expect(fairShare(3, 5)).toBe(1);
    expect(fairShare(5, 0)).toBe(5);
    expect(fairShare(Infinity, 4)).toBe(Infinity);
  });

  it('the shares never add up to more than the bound, when there are no more shards than the bound', () => {
    for (let bound = 1; bound <= 200; bound++)
      for (let shards = 1; shards <= bound; shards++) expect(shards * fairShare(bound, shards)).toBeLessThanOrEqual(bound);
  });
});
