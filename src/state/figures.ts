import type { StateStore } from './store.ts';
import type { RunStatus } from './types.ts';

/** The running totals of one run that `/metrics` exposes beside its progress (0007_run_figures.ts). */
export interface RunFigures {
  lockTimeoutRetries: number;
  errors: number;
  /** Batches by duration: stored bucket key (state/batch-buckets.ts) → batches, over all its ranges, deleted ones too. */
  batchBuckets: Record<string, number>;
  /** Their total duration in seconds (summed exactly, as microseconds). */
  batchSeconds: number;
  /** Unfinished ranges held by a throttle now, by the throttle's name. */
  throttled: Record<string, number>;
}

/** A throttle written before throttles had names (before 0007_run_figures.ts). */
export const UNNAMED_THROTTLE = 'unknown';

/** How many runs the store holds in each status (a status no run has is absent). */
export async function runsByStatus(store: StateStore): Promise<Partial<Record<RunStatus, number>>> {
  const { rows } = await store.pool.query<{ status: RunStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${store.schema}.runs GROUP BY status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** The figures of these runs, in one statement however many there are. */
export async function runFigures(store: StateStore, runIds: string[]): Promise<Map<string, RunFigures>> {
  const s = store.schema;
  const { rows } = await store.pool.query<RunFigures & { runId: string }>(
    `SELECT r.id::text AS "runId", r.lock_timeout_retries::float8 AS "lockTimeoutRetries", r.errors::float8 AS errors,
            (r.batch_micros + coalesce((SELECT sum(g.batch_micros) FROM ${s}.ranges g WHERE g.run_id = r.id), 0))::float8 / 1e6 AS "batchSeconds",
            (SELECT coalesce(jsonb_object_agg(k.key, k.n), '{}')
               FROM (SELECT b.key, sum(b.value::bigint)::float8 AS n
                       FROM (SELECT r.batch_buckets AS h UNION ALL SELECT g.batch_buckets FROM ${s}.ranges g WHERE g.run_id = r.id) x,
                            jsonb_each_text(x.h) b
                      GROUP BY b.key) k) AS "batchBuckets",
            (SELECT coalesce(jsonb_object_agg(t.name, t.n), '{}')
               FROM (SELECT coalesce(g.throttle_kind, $2) AS name, count(*)::int AS n FROM ${s}.ranges g
                      WHERE g.run_id = r.id AND NOT g.done AND g.throttle IS NOT NULL GROUP BY 1) t) AS throttled
       FROM ${s}.runs r WHERE r.id = ANY($1::bigint[])`,
    [runIds, UNNAMED_THROTTLE],
  );
  return new Map(rows.map(({ runId, ...figures }) => [runId, figures]));
}
