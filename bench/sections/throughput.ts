import { benchPool, PGBENCH_TABLES, type BenchDatabases, type Dataset } from '../lib/bench-db.ts';
import { backfillTimeout, readRanges, runFillTarget, startBellows, sumRows, waitBackfillDone, waitNoBellowsSessions } from '../lib/bellows.ts';
import { requireFilled } from '../lib/check.ts';

export interface BackfillResult {
  rows: number;
  /** From the run's backfill_started_at to its backfill_done_at, both written by bellows (clock_timestamp()). */
  ms: number;
  rowsPerSec: number;
  ranges: number;
  batches: number;
  peakRssKb: number | null;
}

/**
 * `bellows start` unthrottled, as a user would run it, in its own process. The
 * backfill's duration comes from the state store (the timestamps the engine
 * writes when the backfill phase begins and when its last range is done), and
 * the rows from the ranges' exact checkpoints. Once the backfill is done the
 * process is stopped with SIGTERM (its verify phase is not measured here).
 * The playbook must change a table of the data set. The figure counts only if
 * the backfill reached every row and its checkpoints add up to the table.
 */
export async function bellowsBackfill(
  dbs: BenchDatabases,
  scale: number,
  playbookPath: string,
  parallelism: number,
  dataset: Dataset = PGBENCH_TABLES,
): Promise<BackfillResult> {
  const url = await dbs.fresh(scale, dataset);
  const db = benchPool(url);
  const proc = startBellows(url, playbookPath, ['--max-rows-per-sec', '0', '--load-yield', '0', '--parallelism', String(parallelism)]);
  try {
    const run = await waitBackfillDone(db, proc, backfillTimeout(scale * 100_000));
    const ranges = await readRanges(db, run.id);
    const rows = sumRows(ranges);
    const ms = run.backfillDoneMs! - run.backfillStartedMs!;
    await proc.stop('SIGTERM');
    await waitNoBellowsSessions(db);
    const tableRows = await requireFilled(db, await runFillTarget(db, run.id), 'bellows');
    if (rows !== tableRows) throw new Error(`the ranges' checkpoints add up to ${rows} rows, the table has ${tableRows}`);
    return {
      rows,
      ms,
      rowsPerSec: (rows * 1000) / ms,
      ranges: ranges.length,
      batches: ranges.reduce((n, r) => n + r.batches, 0),
      peakRssKb: proc.peakKb(),
    };
  } finally {
    await proc.stop('SIGKILL');
    await db.end();
  }
}
