/**
 * Runs `work` over `items`, at most `limit()` at once (read again as each slot
 * frees up, so a tune of parallelism applies to the ranges not yet started).
 * Deterministic: only promises, no timers. A failure stops new starts; the
 * ones running finish first, then the first failure is rethrown.
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
