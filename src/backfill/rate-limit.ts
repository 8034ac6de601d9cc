import type { StateStore } from '../state/store.ts';
import { sleep } from '../util/sleep.ts';

/** Each batch under a cap is this much of the cap's time, shared by the run's walkers: many small steps, not a few bursts. */
const SLOT_MS = 500;

/** What the cap shows as while it holds a batch back, as the other throttles show their reason. */
export const RATE_CAP_THROTTLE = 'max rows/s';

/**
 * The run's rows/s cap as one budget, spent per batch: every walker of the run,
 * in this process or another, reserves its batch's rows from the same clock in
 * the state store (StateStore.reserveRows) and waits for its turn. Batches are
 * sized to the budget, so the committed rows follow the cap closely over any
 * few seconds instead of in bursts.
 */
export class RateBudget {
  constructor(
    private readonly store: StateStore,
    private readonly runId: string,
  ) {}

  /** The largest batch that keeps the pace even: one slot of the cap, split between the walkers. */
  static batchLimit(rowsPerSec: number, parallelism: number): number {
    return Math.max(1, Math.floor((rowsPerSec * SLOT_MS) / 1000 / Math.max(parallelism, 1)));
  }

  /** Waits until `rows` may be written under the cap; true if the cap made it wait. */
  async take(rows: number, rowsPerSec: number, signal?: AbortSignal): Promise<boolean> {
    if (!(rowsPerSec > 0)) return false;
    const waitMs = await this.store.reserveRows(this.runId, rows, rowsPerSec);
    // A few milliseconds are the clock's own noise, not the cap holding the backfill back.
    if (waitMs < 5) return false;
    await sleep(waitMs, signal);
    return true;
  }
}
