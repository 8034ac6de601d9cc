import type { Histogram, Registry } from 'prom-client';
import { bucketBound } from '../state/batch-buckets.ts';

interface Series {
  labels: Record<string, string>;
  /** Stored bucket key → observations in that bucket alone (not cumulative). */
  buckets: Record<string, number>;
  sum: number;
}

/**
 * A histogram whose observations were counted elsewhere. prom-client's
 * Histogram counts only what this process observes, but batches are observed by
 * the workers that walk them, and their counts live in the state store; it has
 * no way to be given counts. The registry formats any metric by what its get()
 * returns, so this one returns the stored counts as a Histogram's own series:
 * a cumulative `_bucket` per bound and `+Inf`, then `_sum` and `_count`.
 */
export class StoredHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {}

  /** Registers it where prom-client's own metrics go; the registry's types know only its own classes. */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Histogram);
    return this;
  }

  set(labels: Record<string, string>, stored: { buckets: Record<string, number>; sum: number }): void {
    const missing = this.labelNames.filter((l) => labels[l] === undefined);
    if (missing.length) throw new Error(`${this.name}: label ${missing.join(', ')} missing`);
    this.series.push({ labels, ...stored });
  }

  async get() {
    const values = this.series.flatMap(({ labels, buckets, sum }) => {
      const counted = Object.entries(buckets).map(([key, n]) => ({ bound: bucketBound(key), n }));
      const atOrUnder = (bound: number) => counted.reduce((total, c) => (c.bound <= bound ? total + c.n : total), 0);
      const count = counted.reduce((total, c) => total + c.n, 0);
      return [
        ...this.bounds.map((le) => ({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: atOrUnder(le) })),
        { metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
        { metricName: `${this.name}_sum`, labels, value: sum },
        { metricName: `${this.name}_count`, labels, value: count },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series = [];
  }
}
