/**
 * Runs `work` over `items`, at most `limit()` at once (read again as each slot
 * frees up, so a tune of parallelism applies to the ranges not yet started).
 * Deterministic: only promises, no timers. A failure stops new starts; the
 * ones running finish first, then the first failure is rethrown.
 *
 * This is the one range pool that differs from the local executor's
 * (executors/local/range-scheduler.ts), and must: that one re-reads the store on
 * a timer and splits ranges as it goes, which a replayed workflow cannot do.
 * Here a tune ends the round instead (its ranges yield) and the next round
 * starts with the new parallelism. The BullMQ executor has no pool in a
 * process: the queue is its pool (executors/bullmq/range-round.ts).
 */
export async function pooled<T, R>(items: T[], limit: () => number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let running = 0;
  let failed: { err: unknown } | null = null;
  return new Promise<R[]>((resolve, reject) => {
    const settleIfDone = () => {
      if (running > 0) return;
      if (failed) reject(failed.err);
      else if (next >= items.length) resolve(results);
    };
    const fill = () => {
      while (!failed && next < items.length && running < Math.max(1, limit())) {
        const i = next++;
        running++;
        work(items[i]).then(
          (r) => {
            results[i] = r;
          },
          (err) => {
            failed ??= { err };
          },
        ).finally(() => {
          running--;
          fill();
          settleIfDone();
        });
      }
    };
    fill();
    settleIfDone();
  });
}
