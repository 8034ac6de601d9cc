/**
 * Clean-ups that run when the current test file ends, pass or fail, last registered
 * first. Helpers are often called from beforeAll, where vitest ignores a nested
 * afterAll (the databases of every file were left behind), so they register here
 * and test/helpers/file-end.ts, a setup file, runs these from the file's own afterAll.
 */
const cleanups: Array<() => unknown> = [];

export function atFileEnd(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

export async function runFileEndCleanups(): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} clean-up(s) failed at the end of the file`);
}
