import { Counter, Gauge, type Registry } from 'prom-client';
import { BATCH_BUCKETS_S } from '../state/batch-buckets.ts';
import { StoredHistogram } from './stored-histogram.ts';

/** Every run-level metric names its run this way (the serve contract). */
const RUN = ['target', 'run', 'playbook'] as const;
const TABLE = [...RUN, 'task', 'table'] as const;

/**
 * The metrics `/metrics` exposes, registered in `registry`: the one place their
 * names, help and labels are written (the Grafana dashboard's test reads the
 * names from here too).
 */
export function defineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    targetUp: new Gauge({ name: 'bellows_target_up', help: "1 when the target's state store answers, else 0", labelNames: ['target'], registers }),
    runs: new Gauge({ name: 'bellows_runs', help: 'Runs by status', labelNames: ['target', 'status'], registers }),
    runPhase: new Gauge({ name: 'bellows_run_phase', help: "1 for the run's current phase", labelNames: [...RUN, 'phase'], registers }),
    rowsDone: new Gauge({ name: 'bellows_rows_done', help: 'Rows done by the task (backfill or verify) on the table', labelNames: TABLE, registers }),
    rowsTotal: new Gauge({
      name: 'bellows_rows_total',
      help: "Rows the task has to do on the table: the planner's estimate, refined as ranges finish",
      labelNames: TABLE,
      registers,
    }),
    rangeRowsDone: new Gauge({ name: 'bellows_range_rows_done', help: 'Rows done in one key range', labelNames: [...TABLE, 'range'], registers }),
    rowsPerSecond: new Gauge({
      name: 'bellows_rows_per_second',
      help: 'Rows committed per second over the last seconds, as bellows status shows (0 when the run does not move)',
      labelNames: RUN,
      registers,
    }),
    batchDuration: new StoredHistogram(
      'bellows_batch_duration_seconds',
      "Duration of the run's batches, backfill and verify, up to their checkpoint",
      RUN,
      BATCH_BUCKETS_S,
    ).registerIn(registry),
    throttledRanges: new Gauge({
      name: 'bellows_throttled_ranges',
      help: 'Ranges a throttle holds now, by throttle (0 for a run that does not move)',
      labelNames: [...RUN, 'reason'],
      registers,
    }),
    lockTimeoutRetries: new Counter({
      name: 'bellows_lock_timeout_retries_total',
      help: "DDL statements retried after losing the race for their lock (lock_timeout or deadlock)",
      labelNames: RUN,
      registers,
    }),
    errors: new Counter({
      name: 'bellows_errors_total',
      help: 'Batches that failed for good, and steps that stopped the run as failed (a failed batch that stops the run counts once as each)',
      labelNames: RUN,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof defineMetrics>;
