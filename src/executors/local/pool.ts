/** Runs `work` over `items` with at most `limit` at once; resolves to the results in item order. */
export async function mapPooled<T, R>(items: T[], limit: () => number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown = null;
  const workers = Array.from({ length: Math.max(1, Math.min(limit(), items.length)) }, async () => {
    while (next < items.length && failed === null) {
      const i = next++;
      try {
        results[i] = await work(items[i]);
      } catch (err) {
        failed ??= err;
      }
    }
  });
  await Promise.all(workers);
  if (failed !== null) throw failed;
  return results;
}
