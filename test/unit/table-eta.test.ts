import { describe, expect, it } from 'vitest';
import { summarizeTasks } from '../../src/state/progress.ts';
import type { RangeRecord } from '../../src/state/types.ts';

/** A table is done when its slowest remaining range is, not when its mean rate says. */

function range(rangeNo: number, rowsDone: number, rowsEstimate: number, windowRowsPerSec: number | null, done = false): RangeRecord {
  return {
    runId: '1', task: 'backfill', table: 'public.t', rangeNo, lowerKey: null, upperKey: null, lastKey: null,
    rowsDone, rowsEstimate, batches: 0, batchSize: 1000, windowRowsPerSec, throttle: null, done, error: null, updatedAt: new Date(),
  };
}

describe('the ETA of a table', () => {
  it('is that of its slowest remaining range on a skewed table', () => {
    // One range nearly done and fast; one with most of the rows left and slow.
    const [task] = summarizeTasks([range(0, 99_000, 100_000, 10_000), range(1, 10_000, 910_000, 500)]);
    expect(task.rowsPerSec).toBe(10_500);
    expect(task.ranges.map((r) => r.etaSeconds)).toEqual([0.1, 1800]);
    expect(task.etaSeconds).toBe(1800);
  });

  it('counts ranges still waiting for a slot: never less than the remaining rows at the table rate', () => {
    const [task] = summarizeTasks([range(0, 0, 100_000, 1000), range(1, 0, 100_000, null)]);
    expect(task.etaSeconds).toBe(200);
  });

  it('shows the rate of the moving window, not the last batch, and none for a finished range', () => {
    const [task] = summarizeTasks([range(0, 100_000, 100_000, 3000, true), range(1, 0, 100_000, 0)]);
    expect(task.rowsPerSec).toBe(0);
    expect(task.etaSeconds).toBeNull();
    expect(task.ranges.map((r) => r.rowsPerSec)).toEqual([0, 0]);
  });
});
