import type pg from 'pg';
import { StateStore } from '../../src/state/store.ts';
import { benchPool, type BenchDatabases } from '../lib/bench-db.ts';
import {
  backfillTimeout,
  checkAlive,
  readRanges,
  readRun,
  runFillTarget,
  startBellows,
  sumRows,
  waitBackfillDone,
  waitNoBellowsSessions,
  type RunView,
} from '../lib/bellows.ts';
import { fillState } from '../lib/check.ts';
import { waitFor } from '../lib/proc.ts';

/**
 * A log of every committed batch, kept by a trigger on bellows' checkpoint
 * table in the bench's throwaway database. The checkpoint is the last statement
 * of a batch's transaction, so `committed_at` (its clock_timestamp) is the
 * batch's commit time to within the COMMIT itself, and `started_at` (the
 * transaction's now()) its start; a batch that rolls back leaves no row.
 */
async function installBatchLog(db: pg.Pool): Promise<void> {
  await db.query(`
    CREATE SCHEMA bench;
    CREATE TABLE bench.batch_log (
      id bigserial PRIMARY KEY, range_no int NOT NULL, rows_done bigint NOT NULL, batches bigint NOT NULL,
      batch_size int, started_at timestamptz NOT NULL DEFAULT now(), committed_at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE FUNCTION bench.log_batch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO bench.batch_log (range_no, rows_done, batches, batch_size) VALUES (NEW.range_no, NEW.rows_done, NEW.batches, NEW.batch_size);
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_log_batch AFTER UPDATE ON bellows.ranges FOR EACH ROW
      WHEN (NEW.task = 'backfill' AND NEW.batches IS DISTINCT FROM OLD.batches) EXECUTE FUNCTION bench.log_batch();`);
}

interface Batch {
  rangeNo: number;
  rows: number;
  startedMs: number;
  committedMs: number;
}

async function batches(db: pg.Pool): Promise<Batch[]> {
  const { rows } = await db.query<{ rangeNo: number; rowsDone: number; startedMs: number; committedMs: number }>(
    `SELECT range_no AS "rangeNo", rows_done::float8 AS "rowsDone",
            extract(epoch FROM started_at) * 1000 AS "startedMs", extract(epoch FROM committed_at) * 1000 AS "committedMs"
       FROM bench.batch_log ORDER BY id`,
  );
  const lastDone = new Map<number, number>();
  return rows.map((r) => {
    const rows = r.rowsDone - (lastDone.get(r.rangeNo) ?? 0);
    lastDone.set(r.rangeNo, r.rowsDone);
    return { rangeNo: r.rangeNo, rows, startedMs: Number(r.startedMs), committedMs: Number(r.committedMs) };
  });
}

async function dbNowMs(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ ms: number }>(`SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms`);
  return Number(rows[0].ms);
}

async function tableRows(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM pgbench_accounts`);
  return rows[0].n;
}

/** Waits until the backfill has done `share` of the table, mid-flight. */
async function waitProgress(db: pg.Pool, proc: ReturnType<typeof startBellows>, rows: number, share: number): Promise<RunView> {
  return waitFor(
    `the backfill to reach ${Math.round(share * 100)}%`,
    async () => {
      const run = await readRun(db);
      checkAlive(proc, run);
      if (!run?.backfillStartedMs) return undefined;
      if (run.backfillDoneMs) throw new Error('the backfill finished before it could be interrupted; use a larger BENCH_RESUME_SCALE');
      return sumRows(await readRanges(db, run.id)) >= share * rows ? run : undefined;
    },
    backfillTimeout(rows),
    10,
  );
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);

export interface PauseResult {
  parallelism: number;
  ranges: number;
  medianBatchMs: number;
  maxBatchMs: number;
  /** From just before the pause was written to the commit of the last batch after it. */
  toLastCommitMs: number;
  /** Longest of the batches that were in flight at the request (start to commit). */
  inFlightMs: number;
  /** From just before the pause was written to the run's status becoming paused (every range stopped). */
  toPausedMs: number;
  /** Bracket of the pause request: the commit of desired.paused lies between the two (ms). */
  requestBracketMs: number;
  /** Most batches any one range committed after the request. */
  maxBatchesAfterPerRange: number;
  /** Batches that began after the pause had committed (must be 0). */
  begunAfter: number;
  rowsAfter: number;
  resumeToFirstCommitMs: number | null;
}

/**
 * Pause mid-backfill through the state store (what `bellows pause` writes), then
 * read the exact batch timeline: which batches committed after the request,
 * whether any began after it, and when the last one committed; then resume and
 * time the first batch after it.
 */
export async function pauseLatency(dbs: BenchDatabases, scale: number, playbookPath: string, parallelism: number): Promise<PauseResult> {
  const url = await dbs.fresh(scale);
  const db = benchPool(url);
  const store = new StateStore(db);
  await store.migrate();
  await installBatchLog(db);
  const total = await tableRows(db);
  const proc = startBellows(url, playbookPath, ['--parallelism', String(parallelism)]);
  try {
    const run = await waitProgress(db, proc, total, 0.3);
    const requestMs = await dbNowMs(db);
    await store.setDesired(run.id, { paused: true }, 'pause', { by: 'bellows-bench' });
    const { rows: ev } = await db.query<{ ms: number }>(
      `SELECT extract(epoch FROM max(at)) * 1000 AS ms FROM bellows.events WHERE run_id = $1 AND kind = 'pause'`,
      [run.id],
    );
    const requestCommittedMs = Number(ev[0].ms);
    const pausedMs = await waitFor(
      'the run to report paused',
      async () => {
        const current = await readRun(db);
        checkAlive(proc, current);
        if (current?.status !== 'paused') return undefined;
        const { rows } = await db.query<{ ms: number }>(
          `SELECT extract(epoch FROM min(at)) * 1000 AS ms FROM bellows.events
            WHERE run_id = $1 AND kind = 'status' AND detail->>'status' = 'paused' AND at >= to_timestamp($2 / 1000.0)`,
          [run.id, requestMs],
        );
        return rows[0].ms === null ? undefined : Number(rows[0].ms);
      },
      60_000,
      10,
    );
    const log = await batches(db);
    const before = log.filter((b) => b.committedMs <= requestMs);
    const after = log.filter((b) => b.committedMs > requestMs);
    const perRange = new Map<number, number>();
    for (const b of after) perRange.set(b.rangeNo, (perRange.get(b.rangeNo) ?? 0) + 1);
    const durations = before.map((b) => b.committedMs - b.startedMs);

    const resumeMs = await dbNowMs(db);
    await store.setDesired(run.id, { paused: false }, 'resume', { by: 'bellows-bench' });
    const firstAfterResume = await waitFor(
      'the first batch after resume',
      async () => {
        const current = await readRun(db);
        checkAlive(proc, current);
        const next = (await batches(db)).find((b) => b.committedMs > resumeMs);
        return next ?? (current?.backfillDoneMs ? null : undefined);
      },
      60_000,
      10,
    );
    await proc.stop('SIGTERM');
    await waitNoBellowsSessions(db);
    return {
      parallelism,
      ranges: new Set(log.map((b) => b.rangeNo)).size,
      medianBatchMs: median(durations),
      maxBatchMs: Math.max(...durations),
      toLastCommitMs: after.length ? Math.max(...after.map((b) => b.committedMs)) - requestMs : 0,
      inFlightMs: after.length ? Math.max(...after.map((b) => b.committedMs - b.startedMs)) : 0,
      toPausedMs: pausedMs - requestMs,
      requestBracketMs: requestCommittedMs - requestMs,
      maxBatchesAfterPerRange: Math.max(0, ...perRange.values()),
      begunAfter: after.filter((b) => b.startedMs > requestCommittedMs).length,
      rowsAfter: after.reduce((n, b) => n + b.rows, 0),
      resumeToFirstCommitMs: firstAfterResume ? firstAfterResume.committedMs - resumeMs : null,
    };
  } finally {
    await proc.stop('SIGKILL');
    await db.end();
  }
}

export interface KillResult {
  parallelism: number;
  tableRows: number;
  /** Rows whose batches had committed when the process was killed (the checkpoints). */
  committedAtKill: number;
  /** Rows the resumed process's batches updated. */
  resumedRows: number;
  /** Rows committed by both processes: killed + resumed − table. Exact checkpoints make this 0. */
  committedTwice: number;
  /** Row updates the server executed on the table during the whole backfill (pg_stat n_tup_upd, which counts rolled-back ones too). */
  tupleUpdates: number;
  /** Updates done by the batches in flight at the kill and rolled back: tupleUpdates − rows committed by both processes. */
  lostInFlight: number;
  /** All rows updated more than once: tupleUpdates − table. */
  redone: number;
  /** One batch per unfinished range at the kill: the next batch may grow to 1.5× the last one. */
  oneBatchPerRange: number;
  unfinishedRanges: number;
  /** Rows left without the new value after the resumed backfill (must be 0). */
  missed: number;
}

/**
 * kill -9 of `bellows start` mid-backfill, then `bellows start` again (which
 * attaches to the unfinished run). Redone work is counted exactly from three
 * independent sources: the checkpoints (rows committed), the table (rows that
 * exist and rows whose new value is right) and the server's own count of row
 * updates on the table (pg_stat_user_tables.n_tup_upd, which includes updates
 * of transactions that rolled back), read after every bellows session ended.
 */
export async function killAndResume(dbs: BenchDatabases, scale: number, playbookPath: string, parallelism: number): Promise<KillResult> {
  const url = await dbs.fresh(scale);
  const db = benchPool(url);
  const upd = async () => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT coalesce(sum(n_tup_upd), 0)::float8 AS n FROM pg_stat_user_tables WHERE relid = 'pgbench_accounts'::regclass`,
    );
    return rows[0].n;
  };
  const flags = ['--parallelism', String(parallelism)];
  try {
    const total = await tableRows(db);
    const updBefore = await upd();
    const first = startBellows(url, playbookPath, flags);
    let run: RunView;
    try {
      run = await waitProgress(db, first, total, 0.4);
      first.process.kill('SIGKILL');
      await first.exited;
    } finally {
      await first.stop('SIGKILL');
    }
    // The server ends the killed sessions once it notices; their transactions roll back and their row locks go.
    await waitNoBellowsSessions(db);
    const atKill = await readRanges(db, run.id);

    const second = startBellows(url, playbookPath, flags);
    try {
      const done = await waitBackfillDone(db, second, backfillTimeout(total));
      await second.stop('SIGTERM');
      await waitNoBellowsSessions(db);
      run = done;
    } finally {
      await second.stop('SIGKILL');
    }
    const final = await readRanges(db, run.id);
    const record = await new StateStore(db).getRun(run.id);
    const { missing } = await fillState(db, await runFillTarget(db, run.id));
    // Statistics reach the shared counters when a session ends; poll until they stop moving.
    let updates = await upd();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const again = await upd();
      if (again === updates && updates - updBefore >= sumRows(final)) break;
      updates = again;
    }
    const tupleUpdates = updates - updBefore;
    const committedAtKill = sumRows(atKill);
    const committed = sumRows(final);
    const unfinished = atKill.filter((r) => !r.done);
    return {
      parallelism,
      tableRows: total,
      committedAtKill,
      resumedRows: committed - committedAtKill,
      committedTwice: committed - total,
      tupleUpdates,
      lostInFlight: tupleUpdates - committed,
      redone: tupleUpdates - total,
      oneBatchPerRange: unfinished.reduce((n, r) => n + Math.min(record.settings.maxBatchSize, Math.ceil(1.5 * (r.batchSize ?? record.settings.batchSize))), 0),
      unfinishedRanges: unfinished.length,
      missed: missing,
    };
  } finally {
    await db.end();
  }
}
