import { benchPool, type BenchDatabases } from '../lib/bench-db.ts';
import { backfillTimeout, checkAlive, expandAndDualWrite, readRun, startBellows, waitBackfillDone, waitNoBellowsSessions } from '../lib/bellows.ts';
import { loadStats, pooledStats, prepareForLoad, runLoad, type LoadRun, type LoadStats } from '../lib/pgbench.ts';
import { waitFor } from '../lib/proc.ts';

export interface LoadResult {
  baseline: LoadStats & { aborted: number };
  dualWrite: LoadStats & { aborted: number };
  /** Trigger-on TPS ÷ trigger-off TPS of each round, in round order. */
  dualWriteRatios: number[];
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

/** Shortest window of one round: below it, pgbench's start and the first checkpoint weigh too much. */
const MIN_ROUND_SECONDS = 5;

async function setTrigger(db: ReturnType<typeof benchPool>, enabled: boolean): Promise<void> {
  await db.query(`ALTER TABLE pgbench_accounts ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER USER`);
}

/**
 * Foreground load on one database: without bellows' trigger (baseline) and with
 * it but no backfill, alternating in rounds, then while `bellows start`
 * backfills at its default settings. (The baseline has bellows' shadow column,
 * which is only catalog metadata while it is NULL, so the pair isolates the
 * trigger's cost.) The third pgbench starts once the
 * run's backfill has begun, and its transactions are cut to the time the
 * backfill actually ran, so a backfill shorter than the load window does not
 * flatter the result.
 */
export async function foregroundLoad(dbs: BenchDatabases, scale: number, playbookPath: string, seconds: number, rounds: number): Promise<LoadResult> {
  const url = await dbs.fresh(scale);
  const db = benchPool(url);
  try {
    await expandAndDualWrite(url, playbookPath);
    // Two windows of the same length a minute apart differ by up to 20% on a shared disk, far more than
    // the trigger costs; so the two take turns in many short rounds, the first of each pair alternating,
    // and the trigger's cost is the median of the rounds' ratios, not of two pooled figures.
    const base: LoadRun[] = [];
    const dual: LoadRun[] = [];
    const round = Math.max(MIN_ROUND_SECONDS, Math.round(seconds / rounds));
    for (let i = 0; i < rounds; i++) {
      const pair = [[false, base], [true, dual]] as const;
      for (const [enabled, runs] of i % 2 === 0 ? pair : [...pair].reverse()) {
        await setTrigger(db, enabled);
        await prepareForLoad(db);
        runs.push(await runLoad(url, round));
      }
    }
    const dualWriteRatios = base.map((b, i) => loadStats(dual[i]).tps / loadStats(b).tps);

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
        baseline: { ...pooledStats(base), aborted: sum(base.map((r) => r.abortedClients)) },
        dualWrite: { ...pooledStats(dual), aborted: sum(dual.map((r) => r.abortedClients)) },
        dualWriteRatios,
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

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
