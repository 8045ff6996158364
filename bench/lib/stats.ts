export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface BenchRow {
  readonly group: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, and what it is. */
  readonly baseline?: number;
  readonly baselineName?: string;
  /** value / baseline. */
  readonly ratio?: number;
  readonly target?: string;
  readonly met?: boolean;
  readonly note?: string;
}

export function row(r: Omit<BenchRow, 'ratio'>): BenchRow {
  return { ...r, ratio: r.baseline ? r.value / r.baseline : undefined };
}
