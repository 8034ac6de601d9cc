/**
 * The batch size follows a target batch duration. A slow batch shrinks the next
 * one at once, in proportion; a fast one lets it grow by at most half again, so
 * a short quiet moment cannot produce a batch that holds row locks for seconds.
 * Far below the target (the first batches of a run, 1,000 rows where 40,000 fit)
 * it grows up to four times, aiming at half the target: each batch pays a few
 * round trips and a commit, so a slow climb of ten small batches costs a
 * small table's backfill several percent of its time.
 */
export interface BatchBounds {
  targetMs: number;
  min: number;
  max: number;
}

const STEADY_GROWTH = 1.5;
const MAX_GROWTH = 4;

export function nextBatchSize(current: number, elapsedMs: number, bounds: BatchBounds): number {
  const ratio = bounds.targetMs / Math.max(elapsedMs, 1);
  const growth = ratio >= 4 ? Math.min(MAX_GROWTH, ratio / 2) : Math.min(ratio, STEADY_GROWTH);
  const proposed = ratio < 1 ? current * ratio : current * growth;
  return clampBatch(Math.round(proposed), bounds);
}

/** After a lock timeout or deadlock: halve, and let the target pull it back up later. */
export function shrinkAfterConflict(current: number, bounds: BatchBounds): number {
  return clampBatch(Math.floor(current / 2), bounds);
}

export function clampBatch(size: number, bounds: BatchBounds): number {
  return Math.max(bounds.min, Math.min(bounds.max, size));
}
