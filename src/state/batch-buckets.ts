/**
 * Upper bounds, in seconds, of the batch-duration histogram. Batches aim at
 * `batchTimeMs` (10 ms to 60 s, 200 ms by default), so the bounds cover that
 * span with room on either side.
 *
 * Each batch's checkpoint counts it under the key of its bucket, the bound as
 * text (`batch_buckets` in 0007_run_figures.ts), not under a position: the
 * stored counts say what they mean, so changing these bounds later never
 * misreads the batches counted before (the collector sums every stored key at
 * or under a bound).
 */
export const BATCH_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The key of a batch longer than every bound. */
export const OVERFLOW_BUCKET = '+Inf';

/** The stored key of the bucket a batch that took `seconds` falls in. */
export function batchBucket(seconds: number): string {
  const bound = BATCH_BUCKETS_S.find((b) => seconds <= b);
  return bound === undefined ? OVERFLOW_BUCKET : String(bound);
}

/** The upper bound a stored key stands for. */
export function bucketBound(key: string): number {
  return key === OVERFLOW_BUCKET ? Infinity : Number(key);
}
