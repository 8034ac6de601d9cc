import { benchPool, type BenchDatabases } from '../lib/bench-db.ts';
import { backfillTimeout, checkAlive, expandAndDualWrite, readRun, startBellows, waitBackfillDone, waitNoBellowsSessions } from '../lib/bellows.ts';
import { loadStats, prepareForLoad, runLoad, type LoadRun, type LoadStats } from '../lib/pgbench.ts';
import { waitFor } from '../lib/proc.ts';

export interface LoadResult {
  baseline: LoadStats & { aborted: number };
  dualWrite: LoadStats & { aborted: number };
  /** Only the transactions that completed while the backfill ran. */
  duringBackfill: LoadStats & { aborted: number };
  /** The whole pgbench run that was started with the backfill. */
  backfillRun: LoadStats;
  /** Share of the pgbench window during which the backfill was running. */
  coverage: number;
  backfillMs: number | null;
}

function withFailures(stats: LoadStats, load: LoadRun): LoadStats & { aborted: number } {
  return { ...stats, failed: Math.max(stats.failed, load.reportedFailed), aborted: load.abortedClients };
}

/**
 * Foreground load three times on the same database: without bellows (baseline),
 * with bellows' dual-write trigger installed but no backfill, and while `bellows
 * start` backfills at its default settings. The third pgbench starts once the
 * run's backfill has begun, and its transactions are cut to the time the
 * backfill actually ran, so a backfill shorter than the load window does not
 * flatter the result.
 */
export async function foregroundLoad(dbs: BenchDatabases, scale: number, playbookPath: string, seconds: number): Promise<LoadResult> {
  const url = await dbs.fresh(scale);
  const db = benchPool(url);
  try {
    await prepareForLoad(db);
    const base = await runLoad(url, seconds);

    await expandAndDualWrite(url, playbookPath);
    await prepareForLoad(db);
    const dual = await runLoad(url, seconds);

    await prepareForLoad(db);
    // `start` attaches to the run made above (same playbook) and carries on from dual-write to the backfill.
    const proc = startBellows(url, playbookPath);
    try {
      const begun = await waitFor(
        'the backfill to begin',
        async () => {
          const run = await readRun(db);
          checkAlive(proc, run);
          return run?.backfillStartedMs ? run : undefined;
        },
        120_000,
        50,
      );
      const load = await runLoad(url, seconds);
      const run = await waitBackfillDone(db, proc, backfillTimeout(scale * 100_000));
      await proc.stop('SIGTERM');
      await waitNoBellowsSessions(db);
      const from = Math.max(load.startedAtMs, begun.backfillStartedMs!);
      const to = Math.min(load.endedAtMs, run.backfillDoneMs!);
      return {
        baseline: withFailures(loadStats(base), base),
        dualWrite: withFailures(loadStats(dual), dual),
        duringBackfill: withFailures(loadStats(load, from, to), load),
        backfillRun: loadStats(load),
        coverage: Math.max(0, to - from) / (load.endedAtMs - load.startedAtMs),
        backfillMs: run.backfillDoneMs! - run.backfillStartedMs!,
      };
    } finally {
      await proc.stop('SIGKILL');
    }
  } finally {
    await db.end();
  }
}
