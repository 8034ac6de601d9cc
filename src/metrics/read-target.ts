import type { StateStore } from '../state/store.ts';
import type { RunRecord, RunStatus } from '../state/types.ts';
import type { DriverProbe } from '../state/liveness.ts';
import { runProgress, type RunProgress } from '../state/progress.ts';
import { runFigures, runsByStatus, type RunFigures } from '../state/figures.ts';
import { SQLSTATE, sqlstateOf } from '../db/sqlstate.ts';

/** One target database whose state store `/metrics` reads. */
export interface MetricsTarget {
  name: string;
  store: StateStore;
  /**
   * What the run's executor says of its driver (executors/driver-probes.ts).
   * Without it the driver's heartbeat in the store decides, which every executor writes.
   */
  probe?: (run: RunRecord) => Promise<DriverProbe>;
}

/** Finished runs stay in the metrics this long, so a dashboard sees them reach the end. */
export const FINISHED_RUNS_SHOWN_S = 15 * 60;

export interface TargetReading {
  statuses: Partial<Record<RunStatus, number>>;
  runs: Array<{ progress: RunProgress; figures: RunFigures }>;
}

const NO_FIGURES: RunFigures = { lockTimeoutRetries: 0, errors: 0, batchBuckets: {}, batchSeconds: 0, throttled: {} };

/**
 * Everything the metrics say of one target, read at once. A database where
 * bellows never ran (no state schema yet) answers, with no runs.
 */
export async function readTarget(target: MetricsTarget): Promise<TargetReading> {
  const { store } = target;
  const probe = target.probe ?? (async () => 'unknown' as const);
  let statuses;
  try {
    statuses = await runsByStatus(store);
  } catch (err) {
    if (sqlstateOf(err) !== SQLSTATE.undefinedTable) throw err;
    return { statuses: {}, runs: [] };
  }
  const runs = await store.recentRuns(FINISHED_RUNS_SHOWN_S);
  const figures = await runFigures(store, runs.map((r) => r.id));
  return {
    statuses,
    runs: await Promise.all(
      runs.map(async (run) => ({ progress: await runProgress(store, run, await probe(run)), figures: figures.get(run.id) ?? NO_FIGURES })),
    ),
  };
}
