import { leastSquares } from '../../bench/lib/trend';

describe("the soak's trend (bench/lib/trend.ts)", () => {
  it('recovers the slope and intercept of a line, with no residual noise', () => {
    const trend = leastSquares([0, 1, 2, 3, 4].map((x) => ({ x, y: 10 + 0.5 * x })));
    expect(trend.slope).toBeCloseTo(0.5);
    expect(trend.intercept).toBeCloseTo(10);
    expect(trend.residualSd).toBeCloseTo(0);
  });

  it('a flat series with noise has a slope near 0 and the noise as its residual deviation', () => {
    const trend = leastSquares([0, 1, 2, 3, 4, 5].map((x) => ({ x, y: 20 + (x % 2 === 0 ? 1 : -1) })));
    expect(Math.abs(trend.slope)).toBeLessThan(0.3);
    expect(trend.residualSd).toBeGreaterThan(0.9);
  });

  it('refuses fewer than 3 points', () => {
    expect(() =>
      leastSquares([
        { x: 0, y: 1 },
        { x: 1, y: 2 },
      ]),
    ).toThrow('at least 3 points');
  });
});
