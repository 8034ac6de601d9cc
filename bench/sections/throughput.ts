import { benchPool, PGBENCH_TABLES, type BenchDatabases, type Dataset } from '../lib/bench-db.ts';
import { backfillTimeout, readRanges, runFillTarget, startBellows, startBullmqWorker, sumRows, waitBackfillDone, waitNoBellowsSessions, type BellowsProcess } from '../lib/bellows.ts';
import { startRedis } from '../lib/redis.ts';
import { requireFilled } from '../lib/check.ts';

export interface BackfillResult {
  rows: number;
  /** From the run's backfill_started_at to its backfill_done_at, both written by bellows (clock_timestamp()). */
  ms: number;
  rowsPerSec: number;
  /** From the last range's last checkpoint to backfill_done_at: how long the executor took to notice the end. */
  tailMs: number;
  ranges: number;
  batches: number;
  /** Of the process that walks the ranges: `bellows start` (local), the worker (BullMQ). */
  peakRssKb: number | null;
}

/** `bellows start` unthrottled: every throttle off, the rest at the playbook's defaults. */
const unthrottled = (parallelism: number) => ['--max-rows-per-sec', '0', '--load-yield', '0', '--parallelism', String(parallelism)];

/** Starts on the work database what runs the backfill; the first process started walks the ranges. */
type Launch = (url: string, started: BellowsProcess[]) => Promise<void>;

/**
 * `bellows start` unthrottled, as a user would run it, in its own process. The
 * backfill's duration comes from the state store (the timestamps the engine
 * writes when the backfill phase begins and when its last range is done), and
 * the rows from the ranges' exact checkpoints. Once the backfill is done the
 * process is stopped with SIGTERM (its verify phase is not measured here).
 * The playbook must change a table of the data set. The figure counts only if
 * the backfill reached every row and its checkpoints add up to the table.
 */
export function bellowsBackfill(dbs: BenchDatabases, scale: number, playbookPath: string, parallelism: number, dataset: Dataset = PGBENCH_TABLES): Promise<BackfillResult> {
  return measureBackfill(dbs, scale, dataset, async (url, started) => {
    started.push(startBellows(url, playbookPath, unthrottled(parallelism)));
  });
}

/**
 * The same backfill on the BullMQ executor: a redis-server of the bench's own,
 * one `bellows worker --executor bullmq --concurrency <parallelism>` process,
 * and `bellows start --executor bullmq --wait` with the same flags, measured as
 * `bellowsBackfill` measures (the state store's timestamps and checkpoints).
 * Once the backfill is done the worker drains on SIGTERM and `start`, which only
 * follows the run, is stopped; Redis is killed at the end.
 */
export async function bullmqBackfill(dbs: BenchDatabases, scale: number, playbookPath: string, parallelism: number, dataset: Dataset = PGBENCH_TABLES): Promise<BackfillResult> {
  const redis = await startRedis();
  try {
    return await measureBackfill(dbs, scale, dataset, async (url, started) => {
      started.push(await startBullmqWorker(url, redis.url, parallelism));
      started.push(startBellows(url, playbookPath, [...unthrottled(parallelism), '--executor', 'bullmq', '--wait'], { REDIS_URL: redis.url }));
    });
  } finally {
    await redis.stop();
  }
}

async function measureBackfill(dbs: BenchDatabases, scale: number, dataset: Dataset, launch: Launch): Promise<BackfillResult> {
  const url = await dbs.fresh(scale, dataset);
  const db = benchPool(url);
  const procs: BellowsProcess[] = [];
  try {
    await launch(url, procs);
    const run = await waitBackfillDone(db, procs, backfillTimeout(scale * 100_000));
    const ranges = await readRanges(db, run.id);
    const rows = sumRows(ranges);
    const ms = run.backfillDoneMs! - run.backfillStartedMs!;
    for (const proc of [...procs].reverse()) await proc.stop('SIGTERM');
    await waitNoBellowsSessions(db);
    const tableRows = await requireFilled(db, await runFillTarget(db, run.id), 'bellows');
    if (rows !== tableRows) throw new Error(`the ranges' checkpoints add up to ${rows} rows, the table has ${tableRows}`);
    return {
      rows,
      ms,
      rowsPerSec: (rows * 1000) / ms,
      tailMs: run.backfillDoneMs! - Math.max(...ranges.map((r) => r.checkpointMs)),
      ranges: ranges.length,
      batches: ranges.reduce((n, r) => n + r.batches, 0),
      peakRssKb: procs[0].peakKb(),
    };
  } finally {
    for (const proc of procs) await proc.stop('SIGKILL');
    await db.end();
  }
}
