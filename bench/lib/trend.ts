/** A least-squares line through (x, y) points, and how far the points scatter around it. */
export interface Trend {
  /** Change of y per unit of x. */
  readonly slope: number;
  readonly intercept: number;
  /** Standard deviation of the residuals (y minus the line), in y's unit: the noise around the trend. */
  readonly residualSd: number;
}

export function leastSquares(points: readonly { x: number; y: number }[]): Trend {
  if (points.length < 3) throw new Error(`a trend needs at least 3 points, got ${points.length}`);
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const { x, y } of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = meanY - slope * meanX;
  // n - 2 degrees of freedom: two parameters were fitted.
  const residualSd = Math.sqrt(points.reduce((sum, { x, y }) => sum + (y - (intercept + slope * x)) ** 2, 0) / (n - 2));
  return { slope, intercept, residualSd };
}
