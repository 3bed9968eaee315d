/** The nearest-rank percentile of latency samples in milliseconds; null without samples. */
export function percentile(samples: number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Fixed-resolution latency histogram (0.1 ms buckets up to 30 s): cheap to fill, merge and ship. */
export class Histogram {
  static readonly RESOLUTION = 10;
  static readonly MAX_BUCKET = 300_000;
  readonly buckets = new Map<number, number>();
  count = 0;

  add(ms: number): void {
    const b = Math.min(Histogram.MAX_BUCKET, Math.max(0, Math.round(ms * Histogram.RESOLUTION)));
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count++;
  }

  toJSON(): [number, number][] {
    return [...this.buckets.entries()];
  }

  merge(entries: [number, number][]): void {
    for (const [b, n] of entries) {
      this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
      this.count += n;
    }
  }

  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b)!;
      if (seen >= target) return b / Histogram.RESOLUTION;
    }
    return null;
  }
}
