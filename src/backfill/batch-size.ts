/**
 * The batch size follows a target batch duration. A slow batch shrinks the next
 * one at once, in proportion; a fast one lets it grow by at most half again, so
 * a short quiet moment cannot produce a batch that holds row locks for seconds.
 */
export interface BatchBounds {
  targetMs: number;
  min: number;
  max: number;
}

export function nextBatchSize(current: number, elapsedMs: number, bounds: BatchBounds): number {
  const ratio = bounds.targetMs / Math.max(elapsedMs, 1);
  const proposed = ratio < 1 ? current * ratio : current * Math.min(ratio, 1.5);
  return clampBatch(Math.round(proposed), bounds);
}

/** After a lock timeout or deadlock: halve, and let the target pull it back up later. */
export function shrinkAfterConflict(current: number, bounds: BatchBounds): number {
  return clampBatch(Math.floor(current / 2), bounds);
}

export function clampBatch(size: number, bounds: BatchBounds): number {
  return Math.max(bounds.min, Math.min(bounds.max, size));
}
